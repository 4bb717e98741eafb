#include "owcore/http/session_routes.hpp"

#include "owcore/coord/sessions/error.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <stdexcept>

namespace owcore::http {

namespace json = boost::json;
namespace sessions = coord::sessions;
using session_result = boost::system::result<sessions::session_state>;

namespace {

response detail(const request& req, bhttp::status status, std::string_view text) {
  json::object body{{"detail", text}};
  return json_response(req, status, json::serialize(body));
}

response to_response(const request& req, const session_middleware& mw, const session_result& r,
                     bool presented) {
  response res;
  if (r) {
    res = json_response(req, bhttp::status::ok, json::serialize(r->data));
    mw.apply(res, r->cookie);
  } else if (r.error() == sessions::error::deleted) {
    res = detail(req, bhttp::status::conflict, "session was deleted concurrently");
    if (presented) mw.apply(res, {sessions::cookie_action::clear, {}});
  } else if (r.error() == sessions::error::reserved_key) {
    res = detail(req, bhttp::status::bad_request, "session key is reserved");
  } else if (r.error() == sessions::error::too_large) {
    res = detail(req, bhttp::status::payload_too_large, "session too large");
  } else {
    res = detail(req, bhttp::status::service_unavailable,
                 "session store unavailable: " + r.error().message());
  }
  res.set(bhttp::field::cache_control, "no-store");
  return res;
}

}  // namespace

void add_session_routes(router& r, std::shared_ptr<session_middleware> sessions) {
  if (!sessions) throw std::invalid_argument("add_session_routes: no session middleware");

  r.add(bhttp::verb::get, "/api/owcore/session",
        [sessions](const request& req) -> net::awaitable<response> {
          auto mw = sessions;  // owned by the frame, not by the handler object
          auto cookie = mw->cookie(req);
          const bool presented = cookie.has_value();
          auto res = co_await mw->service()->get(std::move(cookie));
          co_return to_response(req, *mw, res, presented);
        });

  r.add(bhttp::verb::patch, "/api/owcore/session",
        [sessions](const request& req) -> net::awaitable<response> {
          auto mw = sessions;
          boost::system::error_code ec;
          json::value body = json::parse(req.body(), ec);
          if (ec || !body.is_object()) {
            auto res = detail(req, bhttp::status::bad_request, "body must be a JSON object");
            res.set(bhttp::field::cache_control, "no-store");
            co_return res;
          }
          auto cookie = mw->cookie(req);
          const bool presented = cookie.has_value();
          auto prefixes = mw->options().reserved_key_prefixes;
          auto res = co_await mw->service()->patch(std::move(cookie), std::move(body.get_object()),
                                                   std::move(prefixes));
          co_return to_response(req, *mw, res, presented);
        });

  r.add(bhttp::verb::delete_, "/api/owcore/session",
        [sessions](const request& req) -> net::awaitable<response> {
          auto mw = sessions;
          auto cookie = mw->cookie(req);
          const bool presented = cookie.has_value();
          auto res = co_await mw->service()->clear(std::move(cookie));
          co_return to_response(req, *mw, res, presented);
        });

  r.add(bhttp::verb::post, "/api/owcore/session/rotate",
        [sessions](const request& req) -> net::awaitable<response> {
          auto mw = sessions;
          auto cookie = mw->cookie(req);
          const bool presented = cookie.has_value();
          auto res = co_await mw->service()->rotate(std::move(cookie));
          co_return to_response(req, *mw, res, presented);
        });
}

}  // namespace owcore::http
