// The python-socketio pub/sub channel on a real Redis (docs/wire.md, "The socketio channel"): two
// owcore hosts exchange every message type and filter their own, malformed publishes are dropped
// without harming later ones, the publish queue is bounded and never blocks, a dead Redis costs at
// most the publish timeout, and Python (stdlib json + Debian's redis module, building messages as
// python-socketio 5.16.2 does) and owcore read each other's messages.
#include "owcore/realtime/adapter/redis_channel.hpp"
#include "owcore/redis/client.hpp"
#include "support/test_log.hpp"
#include "support/process.hpp"
#include "support/io_runner.hpp"
#include "support/redis_client.hpp"
#include "support/redis_topology.hpp"
#include "support/wait.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace redis_channel_test {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace redis = owcore::redis;
namespace rp = owcore::realtime::adapter::socketio_pubsub;
namespace test = owcore::test;
using owcore::realtime::adapter::redis_channel;
using owcore::realtime::adapter::redis_channel_options;
using namespace std::chrono_literals;

using owcore::test::test_log;

// An io_context on two threads, like `owcore serve` (tests/support/io_runner.hpp).
using io_threads = owcore::test::io_runner;

// Collects delivered messages; waits with a deadline, never a fixed sleep.
struct inbox {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<rp::message> got;

  redis_channel::message_handler handler() {
    return [this](rp::message m) {
      std::lock_guard lock(mutex);
      got.push_back(std::move(m));
      cv.notify_all();
    };
  }
  bool wait_for(std::size_t n, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, limit, [&] { return got.size() >= n; });
  }
  std::vector<rp::message> snapshot() {
    std::lock_guard lock(mutex);
    return got;
  }
};

std::shared_ptr<redis::client> make_client(asio::io_context& io, const std::string& url) {
  redis::client_options o;
  o.node = std::get<redis::url_config>(redis::parse_url(url));
  o.log = test_log();
  o.connect_timeout = 2s;
  o.reply_timeout = 5s;
  o.queue_timeout = 30s;
  o.backoff_cap = 300ms;
  auto c = redis::make_client(io.get_executor(), o);
  c->start();
  return c;
}

std::shared_ptr<redis_channel> make_channel(asio::io_context& io, std::shared_ptr<redis::client> client, inbox& box,
                                            redis_channel_options opts = {}) {
  opts.log = test_log();
  return redis_channel::create(io.get_executor(), std::move(client), std::move(opts), box.handler());
}

bool wait_subscribed(redis_channel& c) {
  return test::poll_until(test::deadline_after(10s), [&] { return c.subscribed(); });
}

template <class Pred>
bool eventually(Pred&& p, std::chrono::milliseconds limit = 10s) {
  return test::poll_until(test::deadline_after(limit), std::forward<Pred>(p), 10ms);
}

rp::emit_message chat_emit() {
  rp::emit_message m;
  m.event = "events";
  m.data = json::array{json::parse(R"({"chat_id": "c1", "message_id": "m1", "data": {"type": "chat:completion",
      "data": {"content": "h\u00e9llo \ud83d\ude00 \"q\"\n", "done": false, "usage": 1.5, "n": -3}}})")};
  m.room = std::string("user:u1");
  m.skip_sid = std::vector<std::string>{"sidA", "sidB"};
  return m;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::filesystem::path interop_script =
    std::filesystem::path(OWCORE_SOURCE_DIR) / "tests/integration/python/socketio_interop.py";

}  // namespace

TEST(RedisChannel, TwoHostsExchangeMessagesAndFilterTheirOwn) {
  test::standalone_topology topo;
  io_threads t;
  auto client = make_client(t.io, topo.url());
  inbox box_a, box_b;
  auto a = make_channel(t.io, client, box_a);
  auto b = make_channel(t.io, client, box_b);
  ASSERT_NE(a->host_id(), b->host_id());
  ASSERT_TRUE(rp::valid_host_id(a->host_id()));
  a->start();
  b->start();
  ASSERT_TRUE(wait_subscribed(*a));
  ASSERT_TRUE(wait_subscribed(*b));

  // A: an emit with an ack, a disconnect, an enter_room (host_id left empty: filled in), an ack
  // answer for B and one for itself. B: a close_room.
  auto emit = chat_emit();
  emit.callback = rp::ack_ref{"sid-browser-000000001", "/", 42};
  ASSERT_FALSE(a->publish(emit));
  ASSERT_FALSE(a->publish(rp::disconnect_message{"sid-to-drop-00000001", "/", ""}));
  ASSERT_FALSE(a->publish(rp::enter_room_message{"sid-remote-000000001", "channel:42", "/", ""}));
  ASSERT_FALSE(a->publish(rp::callback_message{b->host_id(), "room-x", "/", 7, json::array{true}}));
  ASSERT_FALSE(a->publish(rp::callback_message{a->host_id(), "room-y", "/", 8, json::array{}}));
  ASSERT_FALSE(b->publish(rp::close_room_message{"note:9", "/", ""}));

  ASSERT_TRUE(box_b.wait_for(4, 10s));
  ASSERT_TRUE(box_a.wait_for(2, 10s));
  ASSERT_TRUE(eventually([&] { return a->stats().received == 6 && b->stats().received == 6; }));

  auto got_b = box_b.snapshot();
  ASSERT_EQ(got_b.size(), 4u);
  emit.host_id = a->host_id();
  EXPECT_EQ(got_b[0], rp::message(emit));
  EXPECT_EQ(got_b[1], rp::message(rp::disconnect_message{"sid-to-drop-00000001", "/", a->host_id()}));
  EXPECT_EQ(got_b[2], rp::message(rp::enter_room_message{"sid-remote-000000001", "channel:42", "/", a->host_id()}));
  EXPECT_EQ(got_b[3], rp::message(rp::callback_message{b->host_id(), "room-x", "/", 7, json::array{true}}));

  auto got_a = box_a.snapshot();
  ASSERT_EQ(got_a.size(), 2u);
  std::set<std::string_view> methods;
  for (auto& m : got_a) methods.insert(rp::method_name(m));
  EXPECT_EQ(methods, (std::set<std::string_view>{"callback", "close_room"}));

  // A dropped its own emit, disconnect and enter_room and B's callback; B its own close_room
  // and A's callback.
  EXPECT_TRUE(eventually([&] { return a->stats().filtered == 4; })) << a->stats().filtered;
  EXPECT_TRUE(eventually([&] { return b->stats().filtered == 2; })) << b->stats().filtered;
  EXPECT_TRUE(eventually([&] { return a->stats().published == 5 && b->stats().published == 1; }));
  EXPECT_EQ(a->stats().malformed, 0u);
  a->stop();
  b->stop();
  client->stop();
}

TEST(RedisChannel, MalformedPublishIsDroppedAndLaterMessagesArrive) {
  test::standalone_topology topo;
  io_threads t;
  auto client = make_client(t.io, topo.url());
  inbox box;
  auto b = make_channel(t.io, client, box);
  b->start();
  ASSERT_TRUE(wait_subscribed(*b));

  const std::string H = "0123456789abcdef0123456789abcdef";
  const std::vector<std::string> bad = {
      "not json",
      "\x80\x04\x95 pickle",
      R"({"method": "emit"})",
      R"({"method": "emit", "event": "e", "data": [1], "namespace": "/", "host_id": "short"})",
      R"({"method": "emit", "event": "e", "data": [)" + std::string(101, '7') + R"(], "namespace": "/", "host_id": ")" + H + "\"}",
      R"({"method": "shutdown", "host_id": ")" + H + "\"}",
      R"({"method": "disconnect", "sid": "", "namespace": "/", "host_id": ")" + H + "\"}",
      std::string(100, '['),
  };
  for (const auto& p : bad) EXPECT_EQ(test::redis_command(topo.port(), {"PUBLISH", "socketio", p}).integer, 1);
  // Another channel is not ours.
  test::redis_command(topo.port(), {"PUBLISH", "socketio-other",
                                    R"({"method": "close_room", "room": "x", "namespace": "/", "host_id": ")" + H + "\"}"});
  const std::string good =
      R"({"method": "close_room", "room": "note:9", "namespace": "/", "host_id": ")" + H + "\"}";
  EXPECT_EQ(test::redis_command(topo.port(), {"PUBLISH", "socketio", good}).integer, 1);

  ASSERT_TRUE(box.wait_for(1, 10s));
  EXPECT_EQ(box.snapshot()[0], rp::message(rp::close_room_message{"note:9", "/", H}));
  EXPECT_EQ(b->stats().malformed, bad.size());
  EXPECT_EQ(b->stats().received, bad.size() + 1);
  EXPECT_EQ(b->stats().delivered, 1u);
  EXPECT_TRUE(b->subscribed());
  b->stop();
  client->stop();
}

TEST(RedisChannel, PublishQueueIsBoundedAndRefusesInvalidMessages) {
  test::standalone_topology topo;
  io_threads t;
  auto client = make_client(t.io, topo.url());
  inbox box;
  redis_channel_options opts;
  opts.max_queued = 3;
  opts.limits.max_message_bytes = 4096;
  auto c = make_channel(t.io, client, box, opts);
  // Not started: nothing drains the queue, so its bound is observable.
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(c->publish(rp::close_room_message{"r" + std::to_string(i), "/", ""}));
  EXPECT_EQ(c->publish(rp::close_room_message{"r", "/", ""}), rp::error::queue_full);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(c->queued(), 3u);

  EXPECT_EQ(c->publish(rp::close_room_message{"r", "chat", ""}), rp::error::invalid_namespace);
  EXPECT_EQ(c->publish(rp::callback_message{"", "s", "/", 1, {}}), rp::error::invalid_host_id);
  EXPECT_EQ(c->publish(rp::disconnect_message{"", "/", ""}), rp::error::empty_sid);
  rp::emit_message big;
  big.event = "events";
  big.data.emplace_back(std::string(5000, 'x'));
  EXPECT_EQ(c->publish(big), rp::error::too_large);
  EXPECT_EQ(c->stats().rejected, 5u);

  c->stop();
  EXPECT_EQ(c->publish(rp::close_room_message{"r", "/", ""}), rp::error::stopped);
  EXPECT_EQ(c->queued(), 0u);
  EXPECT_EQ(c->stats().publish_failed, 3u);
  EXPECT_FALSE(c->subscribed());

  redis_channel_options bad_host;
  bad_host.host_id = "XYZ";
  EXPECT_THROW(redis_channel::create(t.io.get_executor(), client, bad_host, {}), std::invalid_argument);
  client->stop();
}

TEST(RedisChannel, DeadRedisCostsAtMostThePublishTimeoutThenRecovers) {
  test::standalone_topology topo;
  io_threads t;
  auto client = make_client(t.io, topo.url());
  inbox box_a, box_b;
  redis_channel_options opts;
  opts.publish_timeout = 1s;
  auto a = make_channel(t.io, client, box_a, opts);
  auto b = make_channel(t.io, client, box_b, opts);
  a->start();
  b->start();
  ASSERT_TRUE(wait_subscribed(*a));
  ASSERT_TRUE(wait_subscribed(*b));

  topo.server().kill();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(a->publish(rp::close_room_message{"lost", "/", ""}));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 100ms);  // publish() never waits for Redis
  ASSERT_TRUE(eventually([&] { return a->stats().publish_failed == 1; }, 5s));
  EXPECT_EQ(a->stats().published, 0u);

  topo.server().restart();
  ASSERT_TRUE(wait_subscribed(*b));
  // The publishing connection may still be in its reconnect backoff: a message published then
  // is dropped after 1 s, so try a few times.
  for (int i = 0; i < 5 && box_b.snapshot().empty(); ++i) {
    EXPECT_FALSE(a->publish(rp::close_room_message{"after", "/", ""}));
    box_b.wait_for(1, 2s);
  }
  ASSERT_FALSE(box_b.snapshot().empty());
  for (const auto& m : box_b.snapshot())  // "lost" was dropped, never sent late
    EXPECT_EQ(std::get<rp::close_room_message>(m).room, "after");
  EXPECT_TRUE(eventually([&] { return a->stats().published >= 1; }));  // the reply may trail delivery
  a->stop();
  b->stop();
  client->stop();
}

TEST(RedisChannel, PythonPublishesWhatOwcoreDecodes) {
  test::standalone_topology topo;
  test::temp_dir dir("owcore-socketio-");
  io_threads t;
  auto client = make_client(t.io, topo.url());
  inbox box;
  auto c = make_channel(t.io, client, box);
  c->start();
  ASSERT_TRUE(wait_subscribed(*c));

  const auto out = dir.path() / "python-host.json";
  test::process py({"/usr/bin/python3", interop_script.string(), "--mode", "publish", "--port",
                    std::to_string(topo.port()), "--out", out.string()},
                   dir.path() / "py-publish.log");
  auto status = py.wait_for_exit(20s);
  ASSERT_TRUE(status) << py.log_tail();
  ASSERT_EQ(WEXITSTATUS(*status), 0) << py.log_tail();
  const std::string py_host(json::parse(read_file(out)).at("host_id").as_string());
  ASSERT_TRUE(rp::valid_host_id(py_host)) << py_host;

  ASSERT_TRUE(box.wait_for(7, 10s)) << box.snapshot().size();
  const auto got = box.snapshot();
  ASSERT_EQ(got.size(), 7u);
  EXPECT_EQ(c->stats().malformed, 0u);

  auto emit = [&](std::string event, json::array data, std::string room) {
    rp::emit_message m;
    m.event = std::move(event);
    m.data = std::move(data);
    m.room = std::move(room);
    m.host_id = py_host;
    return m;
  };
  // 1. sio.emit('events', status, to='user:u1')
  EXPECT_EQ(got[0], rp::message(emit("events", json::array{json::parse(R"({"chat_id": "c1", "message_id": "m1",
      "data": {"type": "status", "data": {"description": "h\u00e9llo \ud83d\ude00 \"q\"\n", "done": false, "n": 1.5,
      "neg": -3, "none": null}}})")}, "user:u1")));
  // 2. ... skip_sid='sidA'
  auto skip = emit("events", json::array{json::object{{"a", 1}}}, "user:u1");
  skip.skip_sid = std::string("sidA");
  EXPECT_EQ(got[1], rp::message(skip));
  // 3. a bytes value: binary with a base64 attachment
  const auto& bin = std::get<rp::emit_message>(got[2]);
  EXPECT_TRUE(bin.binary);
  EXPECT_EQ(bin.event, "ydoc:document:update");
  EXPECT_EQ(bin.room, rp::target(std::string("doc_note_1")));
  EXPECT_EQ(bin.skip_sid, rp::target(std::string("sidB")));
  auto args = rp::get_args(bin);
  ASSERT_TRUE(args) << args.error().message();
  rp::event_args want_args;
  json::object doc;
  doc["document_id"] = "note:1";
  doc["update"] = rp::add_attachment(want_args, std::string("\x00\x01\xFE\xFF", 4));
  want_args.args.emplace_back(std::move(doc));
  EXPECT_EQ(*args, want_args);
  // 4. two positional arguments (a tuple)
  EXPECT_EQ(got[3], rp::message(emit("events", json::array{"first", json::object{{"k", json::array{1, 2}}}}, "r")));
  // 5. no data: python-socketio publishes [None]
  EXPECT_EQ(got[4], rp::message(emit("events", json::array{nullptr}, "user:u1")));
  // 6. orjson's compact dialect (raw UTF-8)
  EXPECT_EQ(got[5], rp::message(emit("events", json::array{json::object{{"text", "\xC3\xA9\xF0\x9F\x98\x80"}}}, "user:u2")));
  // 7. enter_room for a sid that is not local to Python
  EXPECT_EQ(got[6], rp::message(rp::enter_room_message{"sid-remote-000000001", "channel:42", "/", py_host}));
  c->stop();
  client->stop();
}

TEST(RedisChannel, OwcorePublishesWhatPythonReads) {
  test::standalone_topology topo;
  test::temp_dir dir("owcore-socketio-");
  io_threads t;
  auto client = make_client(t.io, topo.url());
  const std::string other_host = "fedcba9876543210fedcba9876543210";
  const auto ready = dir.path() / "python-ready.json";
  test::process py({"/usr/bin/python3", interop_script.string(), "--mode", "receive", "--port",
                    std::to_string(topo.port()), "--ready-file", ready.string(), "--other-host", other_host,
                    "--count", "9"},
                   dir.path() / "py-receive.log");
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(ready) && !read_file(ready).empty(); }, 15s))
      << py.log_tail();
  ASSERT_TRUE(eventually([&] {
    try {
      return json::parse(read_file(ready)).at("host_id").is_string();
    } catch (const std::exception&) {
      return false;
    }
  }, 5s));
  const std::string py_host(json::parse(read_file(ready)).at("host_id").as_string());

  inbox box_compact, box_stdlib;
  auto compact = make_channel(t.io, client, box_compact);
  redis_channel_options stdlib_opts;
  stdlib_opts.style = rp::json_style::stdlib;
  auto stdlib = make_channel(t.io, client, box_stdlib, stdlib_opts);
  compact->start();
  stdlib->start();

  auto publish_all = [&](redis_channel& c) {
    auto ack = chat_emit();
    ack.data = json::array{json::object{{"type", "execute:python"}}};
    ack.room = std::string("sid-browser-000000001");
    ack.skip_sid = std::monostate{};
    ack.callback = rp::ack_ref{"sid-browser-000000001", "/", 42};
    rp::emit_message bin;
    bin.event = "ydoc:document:update";
    bin.room = std::string("doc_note_1");
    bin.skip_sid = std::string("sidC");
    rp::event_args ea;
    json::object doc;
    doc["document_id"] = "note:1";
    doc["update"] = rp::add_attachment(ea, std::string("\x00\x01\xFE\xFF", 4));
    ea.args.emplace_back(std::move(doc));
    rp::set_args(bin, ea);
    const std::vector<rp::message> all = {
        chat_emit(),
        ack,
        bin,
        rp::callback_message{py_host, "room-x", "/", 7, json::array{true, json::object{{"x", "y"}}}},
        rp::callback_message{other_host, "room-z", "/", 9, json::array{}},
        rp::disconnect_message{"sid-to-drop-00000001", "/", ""},
        rp::enter_room_message{"sid-remote-000000001", "channel:42", "/", ""},
        rp::leave_room_message{"sid-remote-000000001", "channel:42", "/", ""},
        rp::close_room_message{"note:9", "/", ""},
    };
    for (const auto& m : all) EXPECT_FALSE(c.publish(m)) << rp::method_name(m);
    return all.size();
  };
  // First every message in the compact dialect, then (once those are out) in stdlib's.
  const auto n = publish_all(*compact);
  ASSERT_TRUE(eventually([&] { return compact->stats().published == n; })) << compact->stats().publish_failed;
  publish_all(*stdlib);
  ASSERT_TRUE(eventually([&] { return stdlib->stats().published == n; }));

  auto status = py.wait_for_exit(20s);
  ASSERT_TRUE(status) << py.log_tail();
  EXPECT_EQ(WEXITSTATUS(*status), 0) << py.log_tail();
  compact->stop();
  stdlib->stop();
  client->stop();
}

}  // namespace redis_channel_test
