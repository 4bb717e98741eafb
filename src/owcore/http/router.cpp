#include "owcore/http/router.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace owcore::http {

metrics_registry& metrics() {
  static metrics_registry registry;
  return registry;
}

response json_response(const request& req, bhttp::status status, std::string body) {
  response res{status, req.version()};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

std::string_view target_path(std::string_view target) noexcept {
  return target.substr(0, target.find('?'));
}

void router::add(bhttp::verb method, std::string path, handler h) {
  auto& r = routes_[path];
  if (!r.counters) r.counters = &metrics().routes.slot(path);
  r.methods[method] = std::move(h);
}

void router::add_upgrade(std::string prefix, upgrade_handler h) {
  auto& u = upgrades_[prefix];
  u.counters = &metrics().routes.slot(prefix);
  u.take = std::move(h);
}

const upgrade_handler* router::find_upgrade(const request& req, route_metrics** counters) const {
  if (!boost::beast::websocket::is_upgrade(req)) return nullptr;
  const auto path = target_path(req.target());
  for (const auto& [prefix, u] : upgrades_) {
    if (!path.starts_with(prefix)) continue;
    if (counters) *counters = u.counters;
    return &u.take;
  }
  return nullptr;
}

void router::add_prefix(bhttp::verb method, std::string prefix, handler h) {
  auto& r = prefixes_[prefix];
  if (!r.counters) r.counters = &metrics().routes.slot(prefix + "*");
  r.methods[method] = std::move(h);
}

std::optional<std::string> path_param(const request& req, std::string_view prefix) {
  auto path = target_path(req.target());
  if (!path.starts_with(prefix)) return std::nullopt;
  auto rest = path.substr(prefix.size());
  if (rest.empty() || rest.find('/') != std::string_view::npos) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] != '%') {
      out += rest[i];
      continue;
    }
    if (i + 2 >= rest.size()) return std::nullopt;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int hi = hex(rest[i + 1]), lo = hex(rest[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

net::awaitable<response> router::dispatch(const request& req) const {
  const auto path = target_path(req.target());
  const route* matched = nullptr;
  if (auto it = routes_.find(path); it != routes_.end()) {
    matched = &it->second;
  } else {
    for (const auto& [prefix, r] : prefixes_) {
      if (path.size() > prefix.size() && path.starts_with(prefix) &&
          path.find('/', prefix.size()) == std::string_view::npos) {
        matched = &r;
        break;
      }
    }
  }
  if (!matched) {
    unmatched_->count(404);
    co_return json_response(req, bhttp::status::not_found, R"({"detail":"Not Found"})");
  }
  const auto* methods = &matched->methods;
  auto method = req.method();
  if (method == bhttp::verb::head && !methods->contains(bhttp::verb::head))
    method = bhttp::verb::get;
  auto h = methods->find(method);
  if (h == methods->end()) {
    auto res = json_response(req, bhttp::status::method_not_allowed,
                             R"({"detail":"Method Not Allowed"})");
    std::string allow;
    for (const auto& [verb, _] : *methods)
      allow += (allow.empty() ? "" : ", ") + std::string(bhttp::to_string(verb));
    res.set(bhttp::field::allow, allow);
    matched->counters->count(405);
    co_return res;
  }
  response res;
  try {
    res = co_await h->second(req);
  } catch (...) {
    matched->counters->count(500);  // the server answers 500 for a handler's exception
    throw;
  }
  matched->counters->count(res.result_int());
  co_return res;
}

}  // namespace owcore::http
