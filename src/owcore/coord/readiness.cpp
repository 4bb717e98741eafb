#include "owcore/coord/readiness.hpp"

#include "owcore/net/timeout.hpp"

namespace owcore::coord {
namespace {

class memory_readiness final : public readiness {
 public:
  net::awaitable<readiness_report> check() override { co_return readiness_report{true, {}}; }
};

class redis_readiness final : public readiness {
 public:
  redis_readiness(std::shared_ptr<redis::client> c, std::chrono::steady_clock::duration t)
      : client_(std::move(c)), timeout_(t) {}

  net::awaitable<readiness_report> check() override {
    redis::reply pong;
    auto ping = [&]() -> net::awaitable<boost::system::error_code> {
      auto [ec, r] = co_await client_->exec_one(redis::request().push("PING"));
      pong = std::move(r);
      co_return ec;
    };
    auto ec = co_await net::with_timeout(ping(), timeout_);
    if (ec) co_return readiness_report{false, "app redis: PING failed: " + ec.message()};
    if (!pong.is_status("PONG"))
      co_return readiness_report{false, "app redis: PING answered " + (pong.str.empty() ? "nothing" : pong.str)};
    co_return readiness_report{true, {}};
  }

 private:
  std::shared_ptr<redis::client> client_;
  std::chrono::steady_clock::duration timeout_;
};

}  // namespace

std::shared_ptr<readiness> make_memory_readiness() { return std::make_shared<memory_readiness>(); }

std::shared_ptr<readiness> make_redis_readiness(std::shared_ptr<redis::client> app,
                                                std::chrono::steady_clock::duration timeout) {
  return std::make_shared<redis_readiness>(std::move(app), timeout);
}

}  // namespace owcore::coord
