// The session service on the memory store (server side) and on signed cookies: id adoption
// rules, merge semantics, rotation, the delete-versus-late-write race, and size limits.
#include "owcore/coord/sessions/error.hpp"
#include "owcore/coord/sessions/session_data.hpp"
#include "owcore/coord/sessions/session_service.hpp"
#include "owcore/coord/sessions/session_store.hpp"
#include "owcore/coord/sessions/signed_cookie.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <mutex>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace session_service_test {

namespace sessions = owcore::coord::sessions;
namespace net = owcore::net;
namespace json = boost::json;
namespace asio = boost::asio;
using sessions::cookie_action;
using sessions::session_id;

namespace {

template <class T>
T run(net::awaitable<T> a) {
  asio::io_context io;
  auto f = asio::co_spawn(io, std::move(a), asio::use_future);
  io.run();
  return f.get();
}

json::object obj(std::string_view text) { return json::parse(text).as_object(); }

std::optional<std::string> opt(std::string s) { return std::optional<std::string>(std::move(s)); }

// A store decorator: records every id the service hands to the store and can run a hook right
// after each read, standing in for another instance acting between our read and our write.
class hooked_store final : public sessions::session_store {
 public:
  using hook = std::function<net::awaitable<void>(sessions::session_store&, session_id)>;
  explicit hooked_store(std::shared_ptr<sessions::session_store> inner) : inner_(std::move(inner)) {}

  hook after_read;
  std::vector<std::string> ids;  // every id seen, in order
  int reads = 0;

  net::awaitable<boost::system::result<std::optional<std::string>>> read(session_id id) override {
    ids.push_back(id.str());
    ++reads;
    auto r = co_await inner_->read(id);
    if (after_read) co_await after_read(*inner_, id);
    co_return r;
  }
  net::awaitable<boost::system::result<bool>> create(session_id id, std::string value) override {
    ids.push_back(id.str());
    co_return co_await inner_->create(std::move(id), std::move(value));
  }
  net::awaitable<boost::system::result<sessions::cas_result>> replace(session_id id, std::string e,
                                                                      std::string v) override {
    ids.push_back(id.str());
    co_return co_await inner_->replace(std::move(id), std::move(e), std::move(v));
  }
  net::awaitable<boost::system::result<sessions::cas_result>> remove_if(session_id id,
                                                                        std::string e) override {
    ids.push_back(id.str());
    co_return co_await inner_->remove_if(std::move(id), std::move(e));
  }
  net::awaitable<boost::system::result<void>> remove(session_id id) override {
    ids.push_back(id.str());
    co_return co_await inner_->remove(std::move(id));
  }

 private:
  std::shared_ptr<sessions::session_store> inner_;
};

struct server_fixture {
  std::shared_ptr<sessions::session_store> mem = sessions::make_memory_session_store();
  std::shared_ptr<hooked_store> store = std::make_shared<hooked_store>(mem);
  double now = 1700000000.5;
  std::shared_ptr<sessions::session_service> svc = make();

  std::shared_ptr<sessions::session_service> make(int attempts = 8, std::size_t max_bytes = 65536) {
    sessions::server_session_options o;
    o.clock = [this] { return now; };
    o.max_attempts = attempts;
    o.max_value_bytes = max_bytes;
    return sessions::make_server_session_service(store, o);
  }

  std::optional<std::string> raw(const std::string& id) {
    auto r = run(mem->read(*session_id::parse(id)));
    return r.value();
  }

  // A session with `data` and its id.
  std::string create(std::string_view data) {
    auto r = run(svc->patch(std::nullopt, obj(data)));
    EXPECT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->cookie.action, cookie_action::set);
    return r->cookie.value;
  }
};

}  // namespace

TEST(SessionServer, NoCookieMeansEmptySessionAndNoCookieChange) {
  server_fixture f;
  auto r = run(f.svc->get(std::nullopt));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->data.empty());
  EXPECT_EQ(r->cookie.action, cookie_action::keep);
  EXPECT_EQ(f.store->reads, 0);
}

TEST(SessionServer, FirstWriteIssuesAFreshIdAndStoresStarsessionsJson) {
  server_fixture f;
  auto id = f.create(R"({"a":1})");
  ASSERT_TRUE(session_id::well_formed(id));
  auto stored = f.raw(id);
  ASSERT_TRUE(stored);
  auto v = json::parse(*stored).as_object();
  EXPECT_EQ(v.at("a"), 1);
  const auto& m = v.at("__metadata__").as_object();
  EXPECT_EQ(m.at("lifetime").as_int64(), 0);
  EXPECT_DOUBLE_EQ(m.at("created").as_double(), 1700000000.5);
  EXPECT_DOUBLE_EQ(m.at("last_access").as_double(), 1700000000.5);

  auto g = run(f.svc->get(opt(id)));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->data, obj(R"({"a":1})"));
  EXPECT_EQ(g->cookie.action, cookie_action::keep);
}

TEST(SessionServer, UnknownIdIsNeverAdopted) {
  server_fixture f;
  const std::string unknown = "0123456789abcdef0123456789abcdef";
  auto g = run(f.svc->get(opt(unknown)));
  ASSERT_TRUE(g);
  EXPECT_TRUE(g->data.empty());
  EXPECT_EQ(g->cookie.action, cookie_action::clear);

  auto p = run(f.svc->patch(opt(unknown), obj(R"({"x":true})")));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->cookie.action, cookie_action::set);
  EXPECT_NE(p->cookie.value, unknown);
  EXPECT_TRUE(session_id::well_formed(p->cookie.value));
  EXPECT_FALSE(f.raw(unknown));
  EXPECT_TRUE(f.raw(p->cookie.value));
}

TEST(SessionServer, GarbageCookiesNeverReachTheStore) {
  server_fixture f;
  const std::vector<std::string> garbage = {
      "", "''", "null", "../../etc/passwd", "*", "x}:{y", "0123456789ABCDEF0123456789ABCDEF",
      std::string(100000, 'a'), std::string("\0\r\n;", 4), "0123456789abcdef0123456789abcdef\n"};
  for (const auto& g : garbage) {
    auto r = run(f.svc->get(opt(g)));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->cookie.action, cookie_action::clear);
    auto p = run(f.svc->patch(opt(g), obj(R"({"k":"v"})")));
    ASSERT_TRUE(p);
    EXPECT_EQ(p->cookie.action, cookie_action::set);
    EXPECT_NE(p->cookie.value, g);
    ASSERT_TRUE(run(f.svc->rotate(opt(g))));
    ASSERT_TRUE(run(f.svc->clear(opt(g))));
  }
  for (const auto& id : f.store->ids) {
    EXPECT_TRUE(session_id::well_formed(id)) << id;
    for (const auto& g : garbage) EXPECT_NE(id, g);
  }
}

TEST(SessionServer, PatchMergesDeletesAndEmptiesLikeRfc7386) {
  server_fixture f;
  auto id = f.create(R"({"a":{"b":1,"c":2},"d":"x"})");
  f.now += 10;
  auto p = run(f.svc->patch(opt(id), obj(R"({"a":{"c":null,"e":[1]},"d":null,"f":0})")));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->data, obj(R"({"a":{"b":1,"e":[1]},"f":0})"));
  EXPECT_EQ(p->cookie.action, cookie_action::keep);
  auto meta = json::parse(*f.raw(id)).as_object().at("__metadata__").as_object();
  EXPECT_DOUBLE_EQ(meta.at("created").as_double(), 1700000000.5);     // kept
  EXPECT_DOUBLE_EQ(meta.at("last_access").as_double(), 1700000010.5); // updated

  // A no-op patch writes nothing.
  auto before = f.raw(id);
  ASSERT_TRUE(run(f.svc->patch(opt(id), obj(R"({"f":0})"))));
  EXPECT_EQ(f.raw(id), before);

  // Removing every key deletes the session and clears the cookie, as starsessions does.
  auto e = run(f.svc->patch(opt(id), obj(R"({"a":null,"f":null})")));
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->data.empty());
  EXPECT_EQ(e->cookie.action, cookie_action::clear);
  EXPECT_FALSE(f.raw(id));

  // An empty patch on no session stores nothing.
  auto none = run(f.svc->patch(std::nullopt, json::object()));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->cookie.action, cookie_action::keep);
}

TEST(SessionServer, ReservedKeysAreRejectedBeforeAnyWrite) {
  server_fixture f;
  auto id = f.create(R"({"a":1})");
  auto before = f.raw(id);
  auto m = run(f.svc->patch(opt(id), obj(R"({"__metadata__":{"lifetime":5}})")));
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), sessions::error::reserved_key);
  std::vector<std::string> prefixes{"_state_"};
  auto s = run(f.svc->patch(opt(id), obj(R"({"_state_google_x":{}})"), prefixes));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), sessions::error::reserved_key);
  EXPECT_EQ(f.raw(id), before);
  // A mutator producing __metadata__ is refused too.
  auto u = run(f.svc->update(opt(id), [](json::object& d) { d["__metadata__"] = 1; }));
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error(), sessions::error::reserved_key);
}

TEST(SessionServer, ClearDeletesAndClearsTheCookie) {
  server_fixture f;
  auto id = f.create(R"({"a":1})");
  auto c = run(f.svc->clear(opt(id)));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->cookie.action, cookie_action::clear);
  EXPECT_FALSE(f.raw(id));
  auto none = run(f.svc->clear(std::nullopt));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->cookie.action, cookie_action::keep);
}

TEST(SessionServer, RotateMovesTheDataToAFreshId) {
  server_fixture f;
  auto id = f.create(R"({"a":1})");
  f.now += 5;
  auto r = run(f.svc->rotate(opt(id)));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->data, obj(R"({"a":1})"));
  ASSERT_EQ(r->cookie.action, cookie_action::set);
  EXPECT_NE(r->cookie.value, id);
  EXPECT_TRUE(session_id::well_formed(r->cookie.value));
  EXPECT_FALSE(f.raw(id));
  auto moved = json::parse(*f.raw(r->cookie.value)).as_object();
  EXPECT_DOUBLE_EQ(moved.at("__metadata__").at("created").as_double(), 1700000000.5);
  EXPECT_DOUBLE_EQ(moved.at("__metadata__").at("last_access").as_double(), 1700000005.5);

  auto unknown = run(f.svc->rotate(opt("ffffffffffffffffffffffffffffffff")));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->cookie.action, cookie_action::clear);
  auto none = run(f.svc->rotate(std::nullopt));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->cookie.action, cookie_action::keep);
}

TEST(SessionServer, DeleteRacingALateWriteStaysDeleted) {
  server_fixture f;
  auto id = f.create(R"({"a":1})");
  // Another instance logs the user out right after our read.
  f.store->after_read = [](sessions::session_store& s, session_id sid) -> net::awaitable<void> {
    co_await s.remove(std::move(sid));
  };
  auto p = run(f.svc->patch(opt(id), obj(R"({"late":"write"})")));
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error(), sessions::error::deleted);
  EXPECT_FALSE(f.raw(id));

  auto id2 = [&] {
    f.store->after_read = nullptr;
    return f.create(R"({"a":2})");
  }();
  f.store->after_read = [](sessions::session_store& s, session_id sid) -> net::awaitable<void> {
    co_await s.remove(std::move(sid));
  };
  auto r = run(f.svc->rotate(opt(id2)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), sessions::error::deleted);
  EXPECT_FALSE(f.raw(id2));
  // The copy under the new id was removed too: the store holds nothing at all.
  f.store->after_read = nullptr;
  for (const auto& seen : f.store->ids) EXPECT_FALSE(f.raw(seen)) << seen;
}

TEST(SessionServer, ConcurrentChangeIsMergedNotLost) {
  server_fixture f;
  auto id = f.create(R"({"a":1})");
  // Once, between our read and write, another writer adds "b".
  auto fired = std::make_shared<bool>(false);
  f.store->after_read = [fired](sessions::session_store& s, session_id sid) -> net::awaitable<void> {
    if (*fired) co_return;
    *fired = true;
    auto cur = co_await s.read(sid);
    auto decoded = sessions::decode_stored_session(**cur, 0);
    decoded->data["b"] = 2;
    co_await s.replace(sid, **cur, sessions::encode_stored_session(decoded->data, decoded->metadata));
  };
  auto p = run(f.svc->patch(opt(id), obj(R"({"c":3})")));
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->data, obj(R"({"a":1,"b":2,"c":3})"));
  f.store->after_read = nullptr;
  EXPECT_EQ(run(f.svc->get(opt(id)))->data, obj(R"({"a":1,"b":2,"c":3})"));
}

TEST(SessionServer, EndlessContentionGivesUp) {
  server_fixture f;
  auto id = f.create(R"({"n":0})");
  auto svc = f.make(3);
  auto counter = std::make_shared<int>(0);
  f.store->after_read = [counter](sessions::session_store& s, session_id sid) -> net::awaitable<void> {
    auto cur = co_await s.read(sid);
    json::object d;
    d["n"] = ++*counter;
    co_await s.replace(sid, **cur, sessions::encode_stored_session(d, {}));
  };
  auto p = run(svc->patch(opt(id), obj(R"({"x":1})")));
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error(), sessions::error::contention);
  EXPECT_EQ(*counter, 3);
}

TEST(SessionServer, SizeLimit) {
  server_fixture f;
  auto svc = f.make(8, 200);
  auto big = run(svc->patch(std::nullopt, obj(R"({"x":")" + std::string(300, 'x') + "\"}")));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error(), sessions::error::too_large);
  EXPECT_TRUE(f.store->ids.empty());
}

TEST(SessionMemoryStore, CompareAndSetSemantics) {
  auto s = sessions::make_memory_session_store();
  auto id = session_id::generate();
  EXPECT_FALSE(*run(s->read(id)));
  EXPECT_TRUE(*run(s->create(id, "v1")));
  EXPECT_FALSE(*run(s->create(id, "v2")));
  EXPECT_EQ(**run(s->read(id)), "v1");
  EXPECT_EQ(*run(s->replace(id, "nope", "v2")), sessions::cas_result::changed);
  EXPECT_EQ(*run(s->replace(id, "v1", "v2")), sessions::cas_result::applied);
  EXPECT_EQ(*run(s->remove_if(id, "v1")), sessions::cas_result::changed);
  EXPECT_EQ(*run(s->remove_if(id, "v2")), sessions::cas_result::applied);
  EXPECT_EQ(*run(s->replace(id, "v2", "v3")), sessions::cas_result::gone);
  EXPECT_EQ(*run(s->remove_if(id, "v2")), sessions::cas_result::gone);
  EXPECT_FALSE(*run(s->read(id)));
  EXPECT_TRUE(run(s->remove(id)));
}

TEST(SessionMemoryStore, TtlExpiryRefreshAndCapacity) {
  auto now = std::make_shared<std::chrono::steady_clock::time_point>();
  sessions::memory_store_options o;
  o.ttl = std::chrono::seconds(100);
  o.max_sessions = 3;
  o.clock = [now] { return *now; };
  auto s = sessions::make_memory_session_store(o);
  auto a = session_id::generate(), b = session_id::generate(), c = session_id::generate(),
       d = session_id::generate();
  ASSERT_TRUE(*run(s->create(a, "a")));
  *now += std::chrono::seconds(60);
  ASSERT_TRUE(*run(s->create(b, "b")));
  ASSERT_TRUE(*run(s->read(a)));          // refreshes a: now expires at 160
  *now += std::chrono::seconds(60);       // t=120: b (expires 160) and a (160) alive
  EXPECT_TRUE(*run(s->read(b)));          // b now expires at 220
  *now += std::chrono::seconds(50);       // t=170: a expired
  EXPECT_FALSE(*run(s->read(a)));
  EXPECT_TRUE(*run(s->create(c, "c")));
  EXPECT_TRUE(*run(s->create(a, "a2")));  // 3 sessions: b (220), c (270), a (270)
  EXPECT_TRUE(*run(s->create(d, "d")));   // over capacity: b, closest to expiry, goes
  EXPECT_FALSE(*run(s->read(b)));
  EXPECT_TRUE(*run(s->read(c)));
  EXPECT_TRUE(*run(s->read(d)));
  EXPECT_EQ(**run(s->read(a)), "a2");
}

// ---------------------------------------------------------------------------------------------
// Signed cookies

namespace {

struct cookie_fixture {
  std::int64_t now = 1700000000;
  std::shared_ptr<sessions::session_service> svc = make();

  std::shared_ptr<sessions::session_service> make(std::size_t max_bytes = 4000) {
    sessions::signed_cookie_options o;
    o.secret_key = "s3cr3t";
    o.clock = [this] { return now; };
    o.max_cookie_bytes = max_bytes;
    return sessions::make_signed_cookie_session_service(o);
  }
};

}  // namespace

TEST(SessionSignedCookie, WriteReadMergeAndResign) {
  cookie_fixture f;
  auto none = run(f.svc->get(std::nullopt));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->cookie.action, cookie_action::keep);

  auto p = run(f.svc->patch(std::nullopt, obj(R"({"a":1,"b":"x"})")));
  ASSERT_TRUE(p);
  ASSERT_EQ(p->cookie.action, cookie_action::set);
  EXPECT_EQ(p->cookie.value, "eyJhIjoxLCJiIjoieCJ9.ZVPxAA.gr6bNHSg-YyKo1e8UYu9_NKtLmY");

  f.now += 100;
  auto g = run(f.svc->get(p->cookie.value));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->data, obj(R"({"a":1,"b":"x"})"));
  ASSERT_EQ(g->cookie.action, cookie_action::set);  // re-signed: sliding expiry
  EXPECT_NE(g->cookie.value, p->cookie.value);

  auto m = run(f.svc->patch(g->cookie.value, obj(R"({"a":null,"c":[1]})")));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->data, obj(R"({"b":"x","c":[1]})"));

  // Python's own cookie is read the same way.
  f.now = 1700000000;
  auto py = run(f.svc->get(opt("eyJhIjogMSwgImIiOiAieCJ9.ZVPxAA.OoxBbrXDwuhZPcax-j75JB8yX7Q")));
  ASSERT_TRUE(py);
  EXPECT_EQ(py->data, obj(R"({"a":1,"b":"x"})"));

  f.now += 200;
  auto r = run(f.svc->rotate(m->cookie.value));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->data, m->data);
  EXPECT_EQ(r->cookie.action, cookie_action::set);
}

TEST(SessionSignedCookie, TamperedExpiredAndGarbageCookiesAreIgnored) {
  cookie_fixture f;
  auto p = run(f.svc->patch(std::nullopt, obj(R"({"role":"user"})")));
  ASSERT_TRUE(p);
  auto tampered = p->cookie.value;
  tampered[2] = tampered[2] == 'A' ? 'B' : 'A';
  sessions::timestamp_signer other("wrong");
  const std::vector<std::string> bad = {
      tampered,
      other.sign(sessions::base64_encode(R"({"role":"admin"})", false), f.now),
      "", "null", "''", "a.b.c", std::string(20000, 'x'),
      p->cookie.value + ".extra"};
  for (const auto& c : bad) {
    auto g = run(f.svc->get(c));
    ASSERT_TRUE(g);
    EXPECT_TRUE(g->data.empty()) << c;
    EXPECT_EQ(g->cookie.action, cookie_action::clear) << c;
    // A write on top of an invalid cookie starts from an empty session.
    auto w = run(f.svc->patch(c, obj(R"({"n":1})")));
    ASSERT_TRUE(w);
    EXPECT_EQ(w->data, obj(R"({"n":1})"));
  }
  f.now += 14 * 24 * 3600 + 1;
  auto expired = run(f.svc->get(p->cookie.value));
  ASSERT_TRUE(expired);
  EXPECT_TRUE(expired->data.empty());
  EXPECT_EQ(expired->cookie.action, cookie_action::clear);
}

TEST(SessionSignedCookie, EmptyingClearingAndLimits) {
  cookie_fixture f;
  auto p = run(f.svc->patch(std::nullopt, obj(R"({"a":1})")));
  ASSERT_TRUE(p);
  auto e = run(f.svc->patch(p->cookie.value, obj(R"({"a":null})")));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->cookie.action, cookie_action::clear);
  auto c = run(f.svc->clear(p->cookie.value));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->cookie.action, cookie_action::clear);
  EXPECT_EQ(run(f.svc->clear(std::nullopt))->cookie.action, cookie_action::keep);
  // A validly signed empty session: Starlette clears it.
  sessions::timestamp_signer s("s3cr3t");
  auto empty = run(f.svc->get(sessions::encode_session_cookie(s, {}, f.now)));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->cookie.action, cookie_action::clear);

  auto small = f.make(100);
  auto big = run(small->patch(std::nullopt, obj(R"({"x":")" + std::string(100, 'x') + "\"}")));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error(), sessions::error::too_large);
  EXPECT_THROW(sessions::make_signed_cookie_session_service({}), std::invalid_argument);
}

}  // namespace session_service_test
