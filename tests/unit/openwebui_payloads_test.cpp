// The pure part of Open WebUI's handlers (realtime/openwebui/payloads): the P:session_pool entry
// in Pydantic order with `settings.ui` first, the note id normalisation, and the validation of
// every client payload, malformed inputs included.
#include "owcore/realtime/openwebui/payloads.hpp"

#include "owcore/coord/shared/shared_dict.hpp"
#include "owcore/realtime/openwebui/instance_lease.hpp"
#include "owcore/realtime/openwebui/pool_jobs.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <map>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace openwebui_payloads_test {

using namespace owcore::realtime::openwebui;
namespace json = boost::json;
using owcore::realtime::socketio::payload;

namespace {

payload args(std::string_view first_json) {
  payload p;
  p.args.push_back(json::parse(first_json));
  return p;
}

owcore::db::user_row sample_user() {
  owcore::db::user_row u;
  u.id = "u1";
  u.email = "ada@example.org";
  u.role = "user";
  u.name = "Ada";
  u.timezone = "Europe/Paris";
  u.status_expires_at = 1700000100;
  u.info = R"({"location": "Paris", "n": 1})";
  u.settings = R"({"theme": "dark", "ui": {"notifications": {"webhook": ""}}, "models": []})";
  u.last_active_at = 1700000000;
  u.updated_at = 1700000001;
  u.created_at = 1600000000;
  return u;
}

}  // namespace

TEST(OpenWebuiPoolEntry, FieldsInPydanticOrderCompactWithSettingsUiFirst) {
  const auto entry = owcore::coord::shared::serialize_json(pool_entry(sample_user(), 1700000200));
  EXPECT_EQ(entry,
            R"({"id":"u1","email":"ada@example.org","username":null,"role":"user","name":"Ada",)"
            R"("timezone":"Europe/Paris","presence_state":null,"status_emoji":null,"status_message":null,)"
            R"("status_expires_at":1700000100,"info":{"location":"Paris","n":1},)"
            R"("settings":{"ui":{"notifications":{"webhook":""}},"theme":"dark","models":[]},)"
            R"("oauth":null,"scim":null,"last_active_at":1700000000,"updated_at":1700000001,)"
            R"("created_at":1600000000,"last_seen_at":1700000200})");
}

TEST(OpenWebuiPoolEntry, SettingsWithoutUiGetAnEmptyUiFirst) {
  EXPECT_EQ(json::serialize(pool_settings(std::string(R"({"a": 1, "b": [1, 2]})"))), R"({"ui":{},"a":1,"b":[1,2]})");
  EXPECT_EQ(json::serialize(pool_settings(std::string("{}"))), R"({"ui":{}})");
}

TEST(OpenWebuiPoolEntry, NullOrInvalidJsonColumnsBecomeNull) {
  EXPECT_TRUE(pool_settings(std::nullopt).is_null());
  EXPECT_TRUE(pool_settings(std::string("null")).is_null());
  EXPECT_TRUE(pool_settings(std::string("not json")).is_null());
  EXPECT_TRUE(pool_settings(std::string("[1]")).is_null());
  auto u = sample_user();
  u.info = "{broken";
  u.oauth = R"({"oidc": {"sub": "x"}})";
  u.username = "ada";
  const auto o = pool_entry(u, 5);
  EXPECT_TRUE(o.at("info").is_null());
  EXPECT_EQ(json::serialize(o.at("oauth")), R"({"oidc":{"sub":"x"}})");
  EXPECT_EQ(o.at("username").as_string(), "ada");
  EXPECT_EQ(o.size(), 18u);
}

TEST(OpenWebuiPoolEntry, PythonStdlibSettingsAreReadToo) {
  // Python's json.dumps output: spaced separators, NaN tokens, escaped non-ASCII.
  const auto s = pool_settings(std::string(R"({"x": NaN, "name": "caf\u00e9", "ui": {}})"));
  EXPECT_EQ(json::serialize(s), "{\"ui\":{},\"x\":null,\"name\":\"caf\xc3\xa9\"}");
}

TEST(OpenWebuiDocumentId, NoteUnderscoreIsNormalisedToNoteColon) {
  limits lim;
  auto a = parse_document_id("note_3f2a-b_c", lim);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, "note:3f2a-b_c");
  EXPECT_EQ(a->note_id, "3f2a-b_c");
  EXPECT_EQ(a->room(), "doc_note:3f2a-b_c");
  auto b = parse_document_id("note:abc", lim);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->id, "note:abc");
}

TEST(OpenWebuiDocumentId, MalformedNoteIdsAreRefused) {
  limits lim;
  for (const char* bad : {"note:", "note_", "note:a:b", "note:../x", "note:a b", "note:a*", "note:\xc3\xa9", "", "note",
                          "note:a\nb"})
    EXPECT_FALSE(parse_document_id(bad, lim)) << bad;
  EXPECT_FALSE(parse_document_id("note:" + std::string(lim.max_id_bytes + 1, 'a'), lim));
  EXPECT_TRUE(parse_document_id("note:" + std::string(lim.max_id_bytes, 'a'), lim));
}

TEST(OpenWebuiDocumentId, OtherNamespacesOnlyWhenOptedIn) {
  limits lim;
  EXPECT_FALSE(parse_document_id("doc:abc", lim));
  EXPECT_FALSE(parse_document_id("abc", lim));
  lim.allow_non_note_documents = true;
  auto d = parse_document_id("doc:abc", lim);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->id, "doc:abc");
  EXPECT_FALSE(d->note_id);
  EXPECT_FALSE(parse_document_id("doc:*", lim));
  EXPECT_FALSE(parse_document_id("doc abc", lim));
  // `note:` documents keep their strict rule when the option is on.
  EXPECT_FALSE(parse_document_id("note:a:b", lim));
}

TEST(OpenWebuiPayloads, TokensAndAuthEvents) {
  limits lim;
  EXPECT_EQ(parse_token(json::parse(R"({"token": "t"})"), lim), "t");
  EXPECT_FALSE(parse_token(json::parse(R"({"token": ""})"), lim));
  EXPECT_FALSE(parse_token(json::parse(R"({"token": 5})"), lim));
  EXPECT_FALSE(parse_token(json::parse(R"("t")"), lim));
  EXPECT_FALSE(parse_token(json::parse("{}"), lim));
  json::object big{{"token", std::string(lim.max_token_bytes + 1, 'x')}};
  EXPECT_FALSE(parse_token(big, lim));
  EXPECT_EQ(parse_auth_event(args(R"({"auth": {"token": "t"}})"), lim), "t");
  EXPECT_FALSE(parse_auth_event(args(R"({"token": "t"})"), lim));
  EXPECT_FALSE(parse_auth_event(args("[]"), lim));
  EXPECT_FALSE(parse_auth_event(payload{}, lim));
}

TEST(OpenWebuiPayloads, JoinNote) {
  limits lim;
  auto e = parse_join_note(args(R"({"note_id": "n1", "auth": {"token": "t"}})"), lim);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->note_id, "n1");
  EXPECT_EQ(e->token, "t");
  EXPECT_FALSE(parse_join_note(args(R"({"note_id": "n1"})"), lim));
  EXPECT_FALSE(parse_join_note(args(R"({"note_id": "../n1", "auth": {"token": "t"}})"), lim));
  EXPECT_FALSE(parse_join_note(args(R"({"note_id": 1, "auth": {"token": "t"}})"), lim));
}

TEST(OpenWebuiPayloads, Usage) {
  limits lim;
  EXPECT_EQ(parse_usage(args(R"({"action": "chat", "model": "llama3:8b", "chat_id": "c"})"), lim), "llama3:8b");
  EXPECT_EQ(parse_usage(args(R"({"model": "openai/gpt-4o"})"), lim), "openai/gpt-4o");
  EXPECT_FALSE(parse_usage(args(R"({"model": ""})"), lim));
  EXPECT_FALSE(parse_usage(args(R"({"model": 3})"), lim));
  EXPECT_FALSE(parse_usage(args(R"({"model": "a\u0000b"})"), lim));
  EXPECT_FALSE(parse_usage(args(R"({})"), lim));
  EXPECT_FALSE(parse_usage(args(R"("m")"), lim));
  json::object big{{"model", std::string(lim.max_model_bytes + 1, 'm')}};
  payload p;
  p.args.emplace_back(big);
  EXPECT_FALSE(parse_usage(p, lim));
}

TEST(OpenWebuiPayloads, ChannelEvents) {
  limits lim;
  auto t = parse_channel_event(
      args(R"({"channel_id": "c1", "message_id": null, "data": {"type": "typing", "data": {"typing": true}}})"), lim);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->type, "typing");
  EXPECT_TRUE(t->message_id.is_null());
  EXPECT_EQ(json::serialize(t->data), R"({"type":"typing","data":{"typing":true}})");
  auto r = parse_channel_event(args(R"({"channel_id": "c1", "message_id": "m1", "data": {"type": "last_read_at"}})"), lim);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message_id.as_string(), "m1");
  EXPECT_FALSE(parse_channel_event(args(R"({"channel_id": "c1", "data": {"type": "message"}})"), lim));
  EXPECT_FALSE(parse_channel_event(args(R"({"channel_id": "c1", "data": "typing"})"), lim));
  EXPECT_FALSE(parse_channel_event(args(R"({"channel_id": "c1", "message_id": 7, "data": {"type": "typing"}})"), lim));
  EXPECT_FALSE(parse_channel_event(args(R"({"data": {"type": "typing"}})"), lim));
  json::object huge{{"channel_id", "c1"},
                    {"data", json::object{{"type", "typing"}, {"pad", std::string(lim.max_relay_bytes, 'x')}}}};
  payload p;
  p.args.emplace_back(huge);
  EXPECT_FALSE(parse_channel_event(p, lim));
}

TEST(OpenWebuiPayloads, ChatRead) {
  limits lim;
  EXPECT_EQ(parse_chat_read(args(R"({"chat_id": "c1", "data": {"type": "last_read_at"}})"), lim), "c1");
  EXPECT_FALSE(parse_chat_read(args(R"({"chat_id": "c1", "data": {"type": "other"}})"), lim));
  EXPECT_FALSE(parse_chat_read(args(R"({"chat_id": "c1"})"), lim));
  EXPECT_FALSE(parse_chat_read(args(R"({"chat_id": ["c1"], "data": {"type": "last_read_at"}})"), lim));
}

TEST(OpenWebuiPayloads, Bytes) {
  payload p;
  EXPECT_EQ(parse_bytes(json::parse("[0, 1, 255]"), p, 10), (owcore::yjs::byte_buffer{0, 1, 255}));
  EXPECT_EQ(parse_bytes(json::parse("[]"), p, 10), owcore::yjs::byte_buffer{});
  for (const char* bad : {"[256]", "[-1]", "[1.5]", "[\"1\"]", "[null]", "\"abc\"", "{}", "[[1]]", "1"})
    EXPECT_FALSE(parse_bytes(json::parse(bad), p, 10)) << bad;
  EXPECT_FALSE(parse_bytes(json::parse("[1, 2, 3]"), p, 2));
  // A binary attachment through its placeholder.
  auto ph = p.attach(std::string("\x01\x02", 2));
  EXPECT_EQ(parse_bytes(ph, p, 10), (owcore::yjs::byte_buffer{1, 2}));
  EXPECT_FALSE(parse_bytes(ph, p, 1));
  EXPECT_FALSE(parse_bytes(json::parse(R"({"_placeholder": true, "num": 5})"), p, 10));
}

TEST(OpenWebuiPayloads, YdocJoinDefaults) {
  limits lim;
  auto j = parse_ydoc_join(args(R"({"document_id": "note_n1"})"), "SID", lim);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->doc.id, "note:n1");
  EXPECT_EQ(j->user_id, "SID");
  EXPECT_EQ(j->user_name, "Anonymous");
  EXPECT_EQ(j->user_color, "#000000");
  auto k = parse_ydoc_join(args(R"({"document_id": "note:n1", "user_id": "u", "user_name": "Ada", "user_color": "#fff"})"),
                           "SID", lim);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->user_name, "Ada");
  EXPECT_FALSE(parse_ydoc_join(args(R"({"document_id": "note:n1", "user_name": 5})"), "SID", lim));
  EXPECT_FALSE(parse_ydoc_join(args(R"({"document_id": 5})"), "SID", lim));
  EXPECT_FALSE(parse_ydoc_join(args(R"({})"), "SID", lim));
}

TEST(OpenWebuiPayloads, YdocUpdate) {
  limits lim;
  auto u = parse_ydoc_update(
      args(R"({"document_id": "note:n1", "user_id": "u", "update": [1, 2], "data": {"content": {"md": "x"}}})"), "S", lim);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->update, (owcore::yjs::byte_buffer{1, 2}));
  EXPECT_EQ(u->save, R"({"content":{"md":"x"}})");
  auto v = parse_ydoc_update(args(R"({"document_id": "note:n1", "update": [1], "data": {}})"), "S", lim);
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->save);  // an empty `data` schedules no save, as in Python
  EXPECT_EQ(v->user_id, "S");
  EXPECT_FALSE(parse_ydoc_update(args(R"({"document_id": "note:n1", "update": []})"), "S", lim));
  EXPECT_FALSE(parse_ydoc_update(args(R"({"document_id": "note:n1"})"), "S", lim));
  EXPECT_FALSE(parse_ydoc_update(args(R"({"document_id": "note:n1", "update": [1], "data": "x"})"), "S", lim));
  EXPECT_FALSE(parse_ydoc_update(args(R"({"document_id": "chat:n1", "update": [1]})"), "S", lim));
  lim.max_update_bytes = 2;
  EXPECT_FALSE(parse_ydoc_update(args(R"({"document_id": "note:n1", "update": [1, 2, 3]})"), "S", lim));
}

TEST(OpenWebuiPayloads, Awareness) {
  limits lim;
  auto a = parse_awareness(args(R"({"document_id": "note:n1", "user_id": "S", "update": [7]})"), lim);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->update, owcore::yjs::byte_buffer{7});
  lim.max_awareness_bytes = 0;
  EXPECT_FALSE(parse_awareness(args(R"({"document_id": "note:n1", "update": [7]})"), lim));
}

TEST(OpenWebuiPayloads, IntList) {
  const owcore::yjs::byte_buffer b{0, 0};
  EXPECT_EQ(json::serialize(int_list(b)), "[0,0]");
}

TEST(OpenWebuiRateLimiter, BurstThenRefill) {
  rate_limiter r(10, 3);
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::seconds(100);
  EXPECT_TRUE(r.take(t0));
  EXPECT_TRUE(r.take(t0));
  EXPECT_TRUE(r.take(t0));
  EXPECT_FALSE(r.take(t0));
  EXPECT_TRUE(r.take(t0 + std::chrono::milliseconds(100)));  // one token back after 0.1 s at 10/s
  EXPECT_FALSE(r.take(t0 + std::chrono::milliseconds(100)));
  // Never more than the burst, however long the pause.
  const auto t1 = t0 + std::chrono::hours(1);
  EXPECT_TRUE(r.take(t1));
  EXPECT_TRUE(r.take(t1));
  EXPECT_TRUE(r.take(t1));
  EXPECT_FALSE(r.take(t1));
}

// --- the presence jobs' sweeps (pool_jobs), on the memory backend of the shared dicts ----------

namespace {

template <class T>
T run_sync(owcore::net::awaitable<T> work) {
  boost::asio::io_context ioc;
  std::optional<T> out;
  boost::asio::co_spawn(ioc, std::move(work), [&](std::exception_ptr ep, T v) {
    if (ep) std::rethrow_exception(ep);
    out = std::move(v);
  });
  ioc.run();
  return std::move(*out);
}

void run_void(owcore::net::awaitable<void> work) {
  boost::asio::io_context ioc;
  boost::asio::co_spawn(ioc, std::move(work), [](std::exception_ptr ep) {
    if (ep) std::rethrow_exception(ep);
  });
  ioc.run();
}

}  // namespace

TEST(OpenWebuiPoolJobs, SessionPoolTimeoutIsPythons) {
  using std::chrono::seconds;
  EXPECT_EQ(session_pool_timeout(std::nullopt), seconds(120));
  EXPECT_EQ(session_pool_timeout(10.0), seconds(120));
  EXPECT_EQ(session_pool_timeout(60.0), seconds(240));
  EXPECT_EQ(session_pool_timeout(-5.0), seconds(120));
}

TEST(OpenWebuiPoolJobs, UsageSweepDropsOnlySidsOlderThanTheTimeout) {
  auto usage = owcore::coord::shared::make_memory_shared_dict("usage_pool");
  ASSERT_TRUE(run_sync(usage->touch("m", "fresh", 100)));
  ASSERT_TRUE(run_sync(usage->touch("m", "edge", 99)));
  ASSERT_TRUE(run_sync(usage->touch("m", "old", 98)));
  ASSERT_TRUE(run_sync(usage->touch("gone", "old", 90)));
  EXPECT_EQ(run_sync(sweep_usage(usage, 102, std::chrono::seconds(3))), 2u);
  auto m = run_sync(usage->get("m"));
  ASSERT_TRUE(m && *m);
  EXPECT_EQ(json::serialize(**m), R"({"fresh":{"updated_at":100},"edge":{"updated_at":99}})");
  EXPECT_EQ(run_sync(usage->contains("gone")).value(), false);
}

TEST(OpenWebuiPoolJobs, SessionSweepDeletesStaleAndMalformedEntriesOnly) {
  auto pool = owcore::coord::shared::make_memory_shared_dict("session_pool");
  ASSERT_TRUE(run_sync(pool->set("live", json::object{{"id", "u"}, {"last_seen_at", 190}})));
  ASSERT_TRUE(run_sync(pool->set("stale", json::object{{"id", "u"}, {"last_seen_at", 10}})));
  ASSERT_TRUE(run_sync(pool->set("no-clock", json::object{{"id", "u"}})));
  EXPECT_EQ(run_sync(sweep_sessions(pool, 200, std::chrono::seconds(120))), 2u);
  EXPECT_EQ(run_sync(pool->keys()).value(), std::vector<std::string>{"live"});
}

// --- instance leases (instance_lease), on memory backends ----------------------------------------

namespace {

// Two or more instances' leases over memory backends: the registry, each instance's sid hash,
// and the pools and documents a sweep cleans. tick(), renew() and sweep() are driven directly.
struct lease_world {
  explicit lease_world(std::chrono::milliseconds ttl) { opts.ttl = ttl; }
  std::shared_ptr<owcore::coord::shared::shared_dict> sids_of(const std::string& id) {
    auto& d = sid_hashes[id];
    if (!d) d = owcore::coord::shared::make_memory_shared_dict("sids:" + id);
    return d;
  }
  std::shared_ptr<instance_lease> lease(const std::string& id) {
    return std::make_shared<instance_lease>(ioc.get_executor(), id, instances,
                                            [this](const std::string& i) { return sids_of(i); }, cleanup, opts);
  }
  boost::asio::io_context ioc;  // the leases' strand
  std::map<std::string, std::shared_ptr<owcore::coord::shared::shared_dict>> sid_hashes;
  std::shared_ptr<owcore::coord::shared::shared_dict> instances =
      owcore::coord::shared::make_memory_shared_dict("instances");
  sid_cleanup cleanup{owcore::coord::shared::make_memory_shared_dict("session_pool"),
                      owcore::coord::shared::make_memory_shared_dict("usage_pool"),
                      owcore::coord::ydoc::make_memory_document_store()};
  lease_options opts;
};

}  // namespace

TEST(OpenWebuiInstanceLease, ADeadInstancesSocketsAreCleanedAndItsLeaseRemoved) {
  lease_world w(std::chrono::milliseconds(1000));
  auto& instances = w.instances;
  auto& c = w.cleanup;
  auto sids_of = [&](const std::string& id) { return w.sids_of(id); };
  auto alive = w.lease("alive");
  auto dead = w.lease("dead");

  // Both hold a socket with a pool entry, a usage sid and Yjs presence.
  EXPECT_EQ(run_sync(alive->tick(0)), 0u);
  EXPECT_EQ(run_sync(dead->tick(0)), 0u);
  for (const char* sid : {"sidA", "sidD"}) {
    ASSERT_TRUE(run_sync(c.session_pool->set(sid, json::object{{"id", "u"}, {"last_seen_at", 1}})));
    ASSERT_TRUE(run_sync(c.usage_pool->touch("m", sid, 1)));
    ASSERT_TRUE(run_sync(c.documents->add_user("note:n", sid)));
  }
  run_void(alive->hold("sidA"));
  run_void(dead->hold("sidD"));

  // "dead" stops renewing; at t = 1.5 s its lease (until 1.0 s) has run out, "alive" renews.
  EXPECT_EQ(run_sync(alive->tick(1500)), 1u);
  EXPECT_EQ(run_sync(c.session_pool->keys()).value(), std::vector<std::string>{"sidA"});
  EXPECT_EQ(json::serialize(*run_sync(c.usage_pool->get("m")).value()), R"({"sidA":{"updated_at":1}})");
  EXPECT_EQ(run_sync(c.documents->users("note:n")).value(), std::vector<std::string>{"sidA"});
  EXPECT_EQ(run_sync(instances->keys()).value(), std::vector<std::string>{"alive"});
  EXPECT_EQ(run_sync(sids_of("dead")->size()).value(), 0u);
  // A live lease is never swept.
  EXPECT_EQ(run_sync(alive->tick(1600)), 0u);
  EXPECT_EQ(run_sync(sids_of("alive")->keys()).value(), std::vector<std::string>{"sidA"});
}

// A live instance stalled past its lease is swept like a dead one: what its users wrote survives
// (the documents it left without users expire one ttl later instead of being cleared), and at its
// next renewal it finds out and calls its hook to write its sockets' state back.
TEST(OpenWebuiInstanceLease, AStalledInstanceSweptAsDeadLosesNoDocumentAndFindsOut) {
  lease_world w(std::chrono::milliseconds(60000));
  auto& ioc = w.ioc;
  auto& instances = w.instances;
  auto& c = w.cleanup;
  auto sids_of = [&](const std::string& id) { return w.sids_of(id); };
  auto sweeper = w.lease("sweeper");
  auto stalled = w.lease("stalled");
  int lapses = 0;
  stalled->on_lapsed([&] { ++lapses; });
  ioc.run();  // the hook is set on the lease's strand

  EXPECT_TRUE(run_sync(stalled->renew(0)));
  EXPECT_EQ(lapses, 0) << "a first lease is not a lapse";
  ASSERT_TRUE(run_sync(c.documents->append("note:n", {1, 1, 7, 0, 4, 1, 1, 't', 1, 'x', 0}))) << "a valid update";
  ASSERT_TRUE(run_sync(c.documents->add_user("note:n", "sidS")));
  run_void(stalled->hold("sidS"));

  // "stalled" misses its renewals; "sweeper" judges its lease run out at t = 61 s.
  EXPECT_EQ(run_sync(sweeper->tick(61000)), 1u);
  EXPECT_TRUE(run_sync(c.documents->users("note:n")).value().empty());
  EXPECT_TRUE(run_sync(c.documents->exists("note:n")).value()) << "left to expire, not cleared";
  EXPECT_EQ(run_sync(sids_of("stalled")->size()).value(), 0u);

  // It wakes up: its renewal comes after its lease ended, so it calls its hook.
  EXPECT_TRUE(run_sync(stalled->renew(62000)));
  EXPECT_EQ(lapses, 1);
  EXPECT_TRUE(run_sync(stalled->renew(63000)));
  EXPECT_EQ(lapses, 1) << "renewed in time";

  // Swept although its lease was still valid by its own clock (clocks apart): found by the
  // registry field being gone.
  ASSERT_TRUE(run_sync(instances->erase("stalled")).value());
  EXPECT_TRUE(run_sync(stalled->renew(64000)));
  EXPECT_EQ(lapses, 2);
}

// The sweep cleans a dead instance's many sids several at a time, and all of them.
TEST(OpenWebuiInstanceLease, SweepCleansEverySidOfALargeDeadInstance) {
  lease_world w(std::chrono::milliseconds(1000));
  auto& instances = w.instances;
  auto& c = w.cleanup;
  auto alive = w.lease("alive");
  auto dead = w.lease("dead");
  EXPECT_EQ(run_sync(dead->tick(0)), 0u);
  const std::size_t n = instance_lease::sweep_parallelism * 3 + 5;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string sid = "sid" + std::to_string(i);
    ASSERT_TRUE(run_sync(c.session_pool->set(sid, json::object{{"id", "u"}})));
    run_void(dead->hold(sid));
  }
  EXPECT_EQ(run_sync(c.session_pool->size()).value(), n);
  EXPECT_EQ(run_sync(alive->tick(1500)), 1u);
  EXPECT_EQ(run_sync(c.session_pool->size()).value(), 0u);
  EXPECT_EQ(run_sync(instances->keys()).value(), std::vector<std::string>{"alive"});
}

}  // namespace openwebui_payloads_test
