#include "owcore/db/metrics.hpp"

#include <chrono>

namespace owcore::db {

namespace {

class instrumented final : public database {
 public:
  explicit instrumented(std::shared_ptr<database> inner)
      : inner_(std::move(inner)),
        m_(metrics().by_dialect[static_cast<std::size_t>(inner_->kind())]) {}

  dialect kind() const noexcept override { return inner_->kind(); }

  net::awaitable<result<rows>> exec(const statement& st, params args) override {
    const auto start = std::chrono::steady_clock::now();
    auto r = co_await inner_->exec(st, std::move(args));
    record(start, r.has_error());
    co_return r;
  }

  net::awaitable<result<void>> exec_script(std::string sql) override {
    const auto start = std::chrono::steady_clock::now();
    auto r = co_await inner_->exec_script(std::move(sql));
    record(start, r.has_error());
    co_return r;
  }

  void stop() override { inner_->stop(); }
  std::uint64_t statements_run() const noexcept override { return inner_->statements_run(); }

 private:
  void record(std::chrono::steady_clock::time_point start, bool failed) noexcept {
    m_.queries.inc();
    if (failed) m_.errors.inc();
    m_.latency.observe(std::chrono::steady_clock::now() - start);
  }

  std::shared_ptr<database> inner_;
  statement_metrics& m_;
};

}  // namespace

metrics_registry& metrics() {
  static metrics_registry registry;
  return registry;
}

std::shared_ptr<database> instrument(std::shared_ptr<database> inner) {
  if (!inner) return inner;
  return std::make_shared<instrumented>(std::move(inner));
}

}  // namespace owcore::db
