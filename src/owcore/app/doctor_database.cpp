#include "owcore/app/doctor_database.hpp"

#include "owcore/app/database_wiring.hpp"

#include <boost/asio/this_coro.hpp>

#include <filesystem>

namespace owcore::app {

net::awaitable<database_report> check_database(settings s) {
  database_report r;
  auto planned = plan_database(s);
  if (auto* e = std::get_if<startup_error>(&planned)) {
    r.variable = e->variable;
    r.error = e->reason;
    co_return r;
  }
  auto plan = std::get<database_plan>(std::move(planned));
  r.variable = plan.variable;
  r.kind = std::string(db::to_string(plan.options.kind));
  r.location = plan.display;
  r.owned = plan.owned;
  if (plan.owned) {
    std::error_code ec;
    r.exists = std::filesystem::exists(plan.options.sqlite_path, ec);
    if (!r.exists) co_return r;
    plan.options.sqlite_create = false;
  }
  // The schema is created only by serve; doctor opens the file as it is.
  plan.owned = false;
  auto ex = co_await boost::asio::this_coro::executor;
  auto opened = co_await open_database(ex, plan);
  if (auto* e = std::get_if<startup_error>(&opened)) {
    r.error = e->reason;
    co_return r;
  }
  auto& o = std::get<opened_database>(opened);
  r.owned = r.owned || o.schema.owned;
  r.schema_head = o.schema.head;
  r.schema_known = o.schema.known;
  r.latency_ms = static_cast<double>(o.latency.count()) / 1000.0;
  if (!r.schema_known)
    r.warning = "schema head '" + r.schema_head + "' is not one owcore knows (Open WebUI 0.11.0-0.11.5)";
  o.db->stop();
  co_return r;
}

boost::json::object database_json(const database_report& r) {
  boost::json::object o;
  o["variable"] = r.variable;
  o["kind"] = r.kind;
  o["location"] = r.location;
  o["owned"] = r.owned;
  o["exists"] = r.exists;
  o["schema_head"] = r.schema_head;
  o["schema_known"] = r.schema_known;
  o["latency_ms"] = r.latency_ms ? boost::json::value(*r.latency_ms) : boost::json::value(nullptr);
  o["error"] = r.error;
  o["warning"] = r.warning;
  return o;
}

void print_database(std::ostream& os, const database_report& r) {
  os << "database (" << r.variable << ")\n";
  auto field = [&](std::string_view label, const std::string& value) {
    os << "  " << label << std::string(label.size() < 12 ? 12 - label.size() : 1, ' ') << value << "\n";
  };
  if (!r.kind.empty()) field("kind", r.kind + (r.owned ? " (owcore's own database)" : " (Open WebUI's database)"));
  if (!r.location.empty()) field("location", r.location);
  if (!r.exists) field("state", "not created yet; `owcore serve` creates it");
  if (!r.schema_head.empty()) field("schema", r.schema_head + (r.schema_known ? " (known)" : " (unknown)"));
  if (r.latency_ms) field("latency", std::to_string(*r.latency_ms) + " ms");
  if (!r.error.empty()) field("error", r.error);
  if (!r.warning.empty()) field("warning", r.warning);
}

}  // namespace owcore::app
