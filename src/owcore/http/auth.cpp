#include "owcore/http/auth.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace owcore::http {

std::optional<std::string_view> request_cookie(const request& req, std::string_view name) noexcept {
  for (auto it = req.find(bhttp::field::cookie); it != req.end() && it->name() == bhttp::field::cookie; ++it) {
    std::string_view rest = it->value();
    while (!rest.empty()) {
      auto semi = rest.find(';');
      auto item = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      auto eq = item.find('=');
      if (eq != std::string_view::npos && item.substr(0, eq) == name) return item.substr(eq + 1);
    }
  }
  return std::nullopt;
}

std::string_view request_token(const request& req) noexcept {
  if (auto it = req.find(bhttp::field::authorization); it != req.end()) {
    std::string_view v = it->value();
    if (v.size() > 7 && (v.starts_with("Bearer ") || v.starts_with("bearer "))) return v.substr(7);
  }
  if (auto c = request_cookie(req, "token")) return *c;
  return {};
}

net::awaitable<std::variant<coord::identity::caller, response>> authenticate(
    const request& req, coord::identity::identity_service& identity, bool admin_only) {
  auto result = co_await identity.authenticate(request_token(req));
  if (auto* fail = std::get_if<coord::auth::auth_failure>(&result)) {
    const bool unavailable = fail->type == coord::auth::auth_failure::kind::unavailable;
    boost::json::object body{{"detail", fail->message}};
    auto res = json_response(req, unavailable ? bhttp::status::service_unavailable : bhttp::status::unauthorized,
                             boost::json::serialize(body));
    if (!unavailable) res.set(bhttp::field::www_authenticate, "Bearer");
    co_return res;
  }
  auto& u = std::get<coord::identity::caller>(result);
  if (admin_only && !u.is_admin())
    co_return json_response(req, bhttp::status::forbidden,
                            R"({"detail":"You do not have permission to access this resource."})");
  co_return std::move(u);
}

}  // namespace owcore::http
