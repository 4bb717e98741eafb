#include "owcore/app/database_wiring.hpp"

#include "owcore/db/url.hpp"

#include <filesystem>

namespace owcore::app {

std::variant<database_plan, startup_error> plan_database(const settings& s) {
  const auto& d = s.database;
  database_plan plan;
  plan.variable = d.url_variable;
  if (d.iam_token_auth)
    return startup_error{"DATABASE_ENABLE_IAM_TOKEN_AUTH", "AWS RDS IAM token authentication is not supported"};

  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path data_dir = fs::absolute(s.data_dir, ec).lexically_normal();
  if (d.url_is_default && !fs::exists(data_dir / "webui.db", ec)) {
    plan.owned = true;
    plan.variable = "DATA_DIR";
    plan.options.kind = db::dialect::sqlite;
    plan.options.sqlite_path = (data_dir / "owcore.db").string();
    plan.options.sqlite_create = true;
    plan.display = plan.options.sqlite_path;
  } else {
    auto parsed = db::parse_database_url(d.url);
    if (auto* why = std::get_if<std::string>(&parsed)) return startup_error{d.url_variable, *why};
    plan.options = std::get<db::options>(std::move(parsed));
    plan.display = mask_url_password(d.url);
  }
  auto& o = plan.options;
  o.schema = d.schema;
  o.pragmas.journal_mode = d.sqlite_wal ? "WAL" : "DELETE";
  o.pragmas.synchronous = d.sqlite_synchronous;
  o.pragmas.busy_timeout = d.sqlite_busy_timeout;
  o.pragmas.cache_size = d.sqlite_cache_size;
  o.pragmas.temp_store = d.sqlite_temp_store;
  o.pragmas.mmap_size = d.sqlite_mmap_size;
  o.pragmas.journal_size_limit = d.sqlite_journal_size_limit;
  o.pool_size = static_cast<std::size_t>(d.pool_size);
  auto ms = [](double seconds) { return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000)); };
  o.pool_timeout = ms(d.pool_timeout_s);
  o.connect_timeout = ms(d.connect_timeout_s);
  o.statement_timeout = ms(d.statement_timeout_s);
  return plan;
}

net::awaitable<std::variant<opened_database, startup_error>> open_database(net::executor ex, database_plan plan) {
  const std::string what = plan.owned ? "owcore's database " + plan.display
                                      : std::string(db::to_string(plan.options.kind)) + " database " + plan.display;
  if (plan.owned) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(plan.options.sqlite_path).parent_path(), ec);
    if (ec) co_return startup_error{plan.variable, "cannot create " + plan.options.sqlite_path + ": " + ec.message()};
  }
  auto opened = co_await db::open(ex, plan.options);
  if (!opened) co_return startup_error{plan.variable, what + ": " + opened.error().message()};
  auto database = std::move(*opened);
  if (plan.owned) {
    auto created = co_await db::create_owned_schema(*database);
    if (!created)
      co_return startup_error{plan.variable, what + ": cannot create the schema: " + created.error().message()};
  }
  const auto start = std::chrono::steady_clock::now();
  auto schema = co_await db::check_schema(*database);
  const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  if (!schema) {
    database->stop();
    co_return startup_error{plan.variable, what + ": " + schema.error().message()};
  }
  co_return opened_database{std::move(database), *schema, latency};
}

}  // namespace owcore::app
