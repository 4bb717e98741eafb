#include "owcore/coord/readiness.hpp"

namespace owcore::coord {
namespace {

class memory_readiness final : public readiness {
 public:
  net::awaitable<readiness_report> check() override { co_return readiness_report{true, {}}; }
};

class redis_readiness final : public readiness {
 public:
  explicit redis_readiness(redis::probe_options opts) : opts_(std::move(opts)) {}
  net::awaitable<readiness_report> check() override {
    auto rep = co_await redis::probe(opts_);
    if (rep.ok) co_return readiness_report{true, {}};
    co_return readiness_report{false, "app redis: " + rep.error};
  }

 private:
  const redis::probe_options opts_;
};

}  // namespace

std::shared_ptr<readiness> make_memory_readiness() { return std::make_shared<memory_readiness>(); }

std::shared_ptr<readiness> make_redis_readiness(redis::probe_options opts) {
  return std::make_shared<redis_readiness>(std::move(opts));
}

}  // namespace owcore::coord
