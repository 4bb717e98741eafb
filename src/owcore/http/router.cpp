#include "owcore/http/router.hpp"

#include <boost/beast/http/field.hpp>

namespace owcore::http {

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
  routes_[std::move(path)][method] = std::move(h);
}

net::awaitable<response> router::dispatch(const request& req) const {
  auto it = routes_.find(target_path(req.target()));
  if (it == routes_.end())
    co_return json_response(req, bhttp::status::not_found, R"({"detail":"Not Found"})");
  auto method = req.method();
  if (method == bhttp::verb::head && !it->second.contains(bhttp::verb::head))
    method = bhttp::verb::get;
  auto h = it->second.find(method);
  if (h == it->second.end()) {
    auto res = json_response(req, bhttp::status::method_not_allowed,
                             R"({"detail":"Method Not Allowed"})");
    std::string allow;
    for (const auto& [verb, _] : it->second)
      allow += (allow.empty() ? "" : ", ") + std::string(bhttp::to_string(verb));
    res.set(bhttp::field::allow, allow);
    co_return res;
  }
  co_return co_await h->second(req);
}

}  // namespace owcore::http
