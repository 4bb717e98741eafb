#include "owcore/http/routes.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/object.hpp>

namespace owcore::http {

void add_health_routes(router& r, std::shared_ptr<coord::readiness> ready) {
  r.add(bhttp::verb::get, "/health", [](const request& req) -> net::awaitable<response> {
    co_return json_response(req, bhttp::status::ok, R"({"status":true})");
  });
  r.add(bhttp::verb::get, "/ready",
        [ready = std::move(ready)](const request& req) -> net::awaitable<response> {
          auto rep = co_await ready->check();
          if (rep.ready) co_return json_response(req, bhttp::status::ok, R"({"status":true})");
          boost::json::object body{{"status", false}, {"reason", rep.reason}};
          co_return json_response(req, bhttp::status::service_unavailable,
                                  boost::json::serialize(body));
        });
}

void add_metrics_route(router& r, metrics_renderer render) {
  r.add(bhttp::verb::get, "/metrics",
        [render = std::move(render)](const request& req) -> net::awaitable<response> {
          response res{bhttp::status::ok, req.version()};
          res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
          res.body() = render();
          co_return res;
        });
}

}  // namespace owcore::http
