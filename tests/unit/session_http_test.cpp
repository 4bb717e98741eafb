// The session cookie on the wire and the /api/owcore/session routes, driven through
// router::dispatch with constructed Beast requests (no network).
#include "owcore/coord/sessions/session_id.hpp"
#include "owcore/http/router.hpp"
#include "owcore/http/session_middleware.hpp"
#include "owcore/http/session_routes.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace session_http_test {

namespace http = owcore::http;
namespace sessions = owcore::coord::sessions;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
namespace asio = boost::asio;

namespace {

http::response call(const http::router& r, bhttp::verb method, std::string target,
                    std::optional<std::string> cookie_header, std::string body = {}) {
  http::request req{method, target, 11};
  if (cookie_header) req.set(bhttp::field::cookie, *cookie_header);
  if (!body.empty()) {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = std::move(body);
    req.prepare_payload();
  }
  asio::io_context io;
  auto f = asio::co_spawn(io, r.dispatch(req), asio::use_future);
  io.run();
  return f.get();
}

std::vector<std::string> set_cookies(const http::response& res) {
  std::vector<std::string> out;
  for (auto it = res.find(bhttp::field::set_cookie);
       it != res.end() && it->name() == bhttp::field::set_cookie; ++it)
    out.emplace_back(it->value());
  return out;
}

// The cookie value a Set-Cookie header gives, as a browser would send it back.
std::string cookie_of(const std::string& set_cookie) {
  auto eq = set_cookie.find('=');
  auto semi = set_cookie.find(';');
  return set_cookie.substr(eq + 1, semi - eq - 1);
}

struct routes {
  http::router r;
  std::shared_ptr<http::session_middleware> mw;
  explicit routes(http::session_options o) {
    mw = http::make_session_middleware(std::move(o), std::nullopt);
    http::add_session_routes(r, mw);
  }
};

http::session_options redis_opts(bool secure = false) {
  http::session_options o;
  o.redis_mode = true;
  o.secure = secure;
  return o;
}

http::session_options signed_opts(bool secure = false, std::string same_site = "lax") {
  http::session_options o;
  o.secret_key = "s3cr3t";
  o.secure = secure;
  o.same_site = std::move(same_site);
  return o;
}

}  // namespace

TEST(SessionCookieParsing, BehavesLikeStarlettesCookieParser) {
  using http::parse_request_cookie;
  EXPECT_EQ(parse_request_cookie("owui-session=abc", "owui-session"), "abc");
  EXPECT_EQ(parse_request_cookie("a=1; owui-session=abc; b=2", "owui-session"), "abc");
  EXPECT_EQ(parse_request_cookie("  owui-session =  abc  ;", "owui-session"), "abc");
  EXPECT_EQ(parse_request_cookie("owui-session=first; owui-session=last", "owui-session"), "last");
  EXPECT_EQ(parse_request_cookie("owui-session=a=b==", "owui-session"), "a=b==");  // first '=' splits
  EXPECT_EQ(parse_request_cookie("owui-session=", "owui-session"), "");
  EXPECT_EQ(parse_request_cookie("owui-session=\"q\\\"x\\073\"", "owui-session"), "q\"x;");
  EXPECT_EQ(parse_request_cookie("owui-session=\"", "owui-session"), "\"");
  EXPECT_EQ(parse_request_cookie("other=1", "owui-session"), std::nullopt);
  EXPECT_EQ(parse_request_cookie("", "owui-session"), std::nullopt);
  EXPECT_EQ(parse_request_cookie("owui-session", "owui-session"), std::nullopt);  // name ""
  EXPECT_EQ(parse_request_cookie(";;;owui-session=x;;", "owui-session"), "x");
  EXPECT_EQ(parse_request_cookie("Owui-Session=x", "owui-session"), std::nullopt);
}

TEST(SessionSetCookie, ExactAttributesPerMode) {
  auto redis = http::make_session_middleware(redis_opts(), std::nullopt);
  EXPECT_EQ(redis->set_cookie({sessions::cookie_action::set, "00112233445566778899aabbccddeeff"}),
            "owui-session=00112233445566778899aabbccddeeff; path=/; httponly; samesite=lax");
  EXPECT_EQ(redis->set_cookie({sessions::cookie_action::clear, {}}),
            "owui-session=''; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; samesite=lax");
  EXPECT_EQ(redis->set_cookie({sessions::cookie_action::keep, {}}), "");
  auto redis_secure = http::make_session_middleware(redis_opts(true), std::nullopt);
  EXPECT_EQ(redis_secure->set_cookie({sessions::cookie_action::set, "ab"}),
            "owui-session=ab; path=/; httponly; samesite=lax; secure");

  auto cookie = http::make_session_middleware(signed_opts(), std::nullopt);
  EXPECT_EQ(cookie->set_cookie({sessions::cookie_action::set, "e30=.x.y"}),
            "owui-session=e30=.x.y; path=/; Max-Age=1209600; httponly; samesite=lax");
  EXPECT_EQ(cookie->set_cookie({sessions::cookie_action::clear, {}}),
            "owui-session=null; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; samesite=lax");
  auto strict = http::make_session_middleware(signed_opts(true, "strict"), std::nullopt);
  EXPECT_EQ(strict->set_cookie({sessions::cookie_action::set, "v"}),
            "owui-session=v; path=/; Max-Age=1209600; httponly; samesite=strict; secure");

  http::session_options no_key;
  EXPECT_THROW(http::make_session_middleware(no_key, std::nullopt), std::invalid_argument);
}

namespace {

// The same API contract in both modes.
void exercise_routes(http::session_options opts) {
  routes rt(std::move(opts));
  const std::string path = "/api/owcore/session";

  auto g = call(rt.r, bhttp::verb::get, path, std::nullopt);
  EXPECT_EQ(g.result(), bhttp::status::ok);
  EXPECT_EQ(g.body(), "{}");
  EXPECT_TRUE(set_cookies(g).empty());
  EXPECT_EQ(g[bhttp::field::cache_control], "no-store");

  auto p = call(rt.r, bhttp::verb::patch, path, std::nullopt, R"({"a":1,"b":{"c":2}})");
  ASSERT_EQ(p.result(), bhttp::status::ok) << p.body();
  EXPECT_EQ(json::parse(p.body()), json::parse(R"({"a":1,"b":{"c":2}})"));
  ASSERT_EQ(set_cookies(p).size(), 1u);
  auto c = cookie_of(set_cookies(p)[0]);
  auto header = "x=y; owui-session=" + c;

  auto p2 = call(rt.r, bhttp::verb::patch, path, header, R"({"b":{"c":null,"d":3},"a":null})");
  ASSERT_EQ(p2.result(), bhttp::status::ok) << p2.body();
  EXPECT_EQ(json::parse(p2.body()), json::parse(R"({"b":{"d":3}})"));
  if (!set_cookies(p2).empty()) header = "owui-session=" + cookie_of(set_cookies(p2)[0]);

  auto g2 = call(rt.r, bhttp::verb::get, path, header);
  EXPECT_EQ(json::parse(g2.body()), json::parse(R"({"b":{"d":3}})"));
  EXPECT_EQ(g2.body().find("__metadata__"), std::string::npos);

  auto rot = call(rt.r, bhttp::verb::post, path + "/rotate", header);
  ASSERT_EQ(rot.result(), bhttp::status::ok) << rot.body();
  EXPECT_EQ(json::parse(rot.body()), json::parse(R"({"b":{"d":3}})"));
  ASSERT_EQ(set_cookies(rot).size(), 1u);
  auto rotated = "owui-session=" + cookie_of(set_cookies(rot)[0]);
  // Redis mode: a new id. Signed mode: a new signature (the same one within one second).
  if (rt.mw->service()->mode() == sessions::session_mode::server_side) {
    EXPECT_NE(rotated, header);
  }
  EXPECT_EQ(json::parse(call(rt.r, bhttp::verb::get, path, rotated).body()),
            json::parse(R"({"b":{"d":3}})"));

  // Bad bodies and reserved keys.
  for (std::string bad : {"", "[1]", "{", "null", "\"s\""}) {
    auto b = call(rt.r, bhttp::verb::patch, path, rotated, bad);
    EXPECT_EQ(b.result(), bhttp::status::bad_request) << bad;
  }
  EXPECT_EQ(call(rt.r, bhttp::verb::patch, path, rotated, R"({"__metadata__":1})").result(),
            bhttp::status::bad_request);
  EXPECT_EQ(call(rt.r, bhttp::verb::patch, path, rotated, R"({"_state_x_y":{}})").result(),
            bhttp::status::bad_request);

  auto d = call(rt.r, bhttp::verb::delete_, path, rotated);
  EXPECT_EQ(d.result(), bhttp::status::ok);
  EXPECT_EQ(d.body(), "{}");
  ASSERT_EQ(set_cookies(d).size(), 1u);
  EXPECT_NE(set_cookies(d)[0].find("expires=Thu, 01 Jan 1970 00:00:00 GMT"), std::string::npos);

  // Forged or garbage cookies: an empty session, and the cookie is cleared.
  for (std::string forged : {"owui-session=0123456789abcdef0123456789abcdef",
                             "owui-session=../../x", "owui-session=eyJhIjoxfQ==.ZVPxAA.bad"}) {
    auto f = call(rt.r, bhttp::verb::get, path, forged);
    EXPECT_EQ(f.result(), bhttp::status::ok);
    EXPECT_EQ(f.body(), "{}");
    ASSERT_EQ(set_cookies(f).size(), 1u) << forged;
    EXPECT_NE(set_cookies(f)[0].find("1970"), std::string::npos);
  }

  EXPECT_EQ(call(rt.r, bhttp::verb::put, path, std::nullopt).result(),
            bhttp::status::method_not_allowed);
}

}  // namespace

TEST(SessionRoutes, RedisModeOnTheMemoryStore) {
  exercise_routes(redis_opts());
  // A forged id is replaced by a fresh server id on the first write.
  routes rt(redis_opts());
  auto p = call(rt.r, bhttp::verb::patch, "/api/owcore/session",
                "owui-session=0123456789abcdef0123456789abcdef", R"({"a":1})");
  ASSERT_EQ(set_cookies(p).size(), 1u);
  auto id = cookie_of(set_cookies(p)[0]);
  EXPECT_NE(id, "0123456789abcdef0123456789abcdef");
  EXPECT_TRUE(sessions::session_id::well_formed(id));
}

TEST(SessionRoutes, SignedCookieMode) { exercise_routes(signed_opts()); }

}  // namespace session_http_test
