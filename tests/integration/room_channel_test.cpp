// Open WebUI 0.11.5 room channels (docs/wire.md) on real Redis processes:
//
// - the supervised subscriber's pattern subscriptions: pmessages, re-subscription after a
//   killed connection, punsubscribe, and an ACL refusal its owner accepts;
// - redis_channel in room-channel mode: an emit to one room goes on `socketio#<nsp>#<room>`,
//   everything else on `socketio`; a room-channel message is decoded only for a room with
//   local members; `room_channels = false` keeps the v0.11.0 channel (standalone and Cluster);
// - the NOPERM fallback under an ACL user without `&socketio#*`;
// - end to end, two `owcore serve` instances and npm socket.io-client: a room emit from A's
//   client reaches B's client exactly once, on `socketio#/#<room>` (standalone and Cluster), or
//   on `socketio` with WEBSOCKET_REDIS_ROOM_CHANNELS=false;
// - an Open WebUI 0.11.5 peer (tests/integration/python/room_channels_interop.py): its room-channel
//   emits reach owcore's client once, owcore's reach it, and its `disconnect` for an owcore sid
//   disconnects that client.
#include "owcore/realtime/adapter/redis_channel.hpp"
#include "owcore/redis/client.hpp"
#include "support/test_log.hpp"
#include "support/http_client.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/io_runner.hpp"
#include "support/redis_client.hpp"
#include "support/redis_topology.hpp"
#include "support/wait.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/wait.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <optional>
#include <mutex>
#include <set>
#include <thread>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace room_channel_test {

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

// Thread-safe list of what arrived; waits with a deadline, never a fixed sleep.
template <class T>
struct collected {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<T> got;

  void add(T v) {
    std::lock_guard lock(mutex);
    got.push_back(std::move(v));
    cv.notify_all();
  }
  template <class Pred>
  bool wait_until(Pred&& p, std::chrono::milliseconds limit = 10s) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, limit, [&] { return p(got); });
  }
  std::vector<T> snapshot() {
    std::lock_guard lock(mutex);
    return got;
  }
};

std::shared_ptr<redis::client> make_client(asio::io_context& io, const std::string& url,
                                           redis::topology topo = redis::topology::standalone) {
  redis::client_options o;
  o.topo = topo;
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

template <class Pred>
bool eventually(Pred&& p, std::chrono::milliseconds limit = 10s) {
  return test::poll_until(test::deadline_after(limit), std::forward<Pred>(p), 10ms);
}

// An emit of event `event` with one string argument `tag` to `room` (monostate = everyone).
rp::emit_message emit_to(rp::target room, const std::string& tag, const std::string& event = "events") {
  rp::emit_message m;
  m.event = event;
  m.data = json::array{json::string(tag)};
  m.room = std::move(room);
  return m;
}

// The first argument of an emit ("" for other messages).
std::string tag_of(const rp::message& m) {
  const auto* e = std::get_if<rp::emit_message>(&m);
  if (!e || e->data.empty() || !e->data.front().is_string()) return {};
  return std::string(e->data.front().as_string());
}

// (channel, payload) of every message an observer subscriber saw on `socketio` or `socketio#*`.
struct observer {
  collected<std::pair<std::string, std::string>> seen;
  std::shared_ptr<redis::subscriber> sub;
  explicit observer(redis::client& c) {
    sub = c.make_subscriber([this](const redis::message& m) { seen.add({m.channel, m.payload}); }, "observer", "");
    sub->subscribe("socketio");
    sub->psubscribe("socketio#*");
    sub->start();
  }
  ~observer() { sub->stop(); }
  // The channel each message carrying `tag` was published on.
  std::vector<std::string> channels_of(const std::string& tag) {
    std::vector<std::string> out;
    for (const auto& [channel, payload] : seen.snapshot())
      if (payload.find("\"" + tag + "\"") != std::string::npos) out.push_back(channel);
    return out;
  }
  bool saw(const std::string& tag) { return !channels_of(tag).empty(); }
};

struct room_set {
  std::mutex mutex;
  std::set<std::string> rooms;
  bool has(std::string_view nsp, std::string_view room) {
    std::lock_guard lock(mutex);
    return nsp == "/" && rooms.contains(std::string(room));
  }
};

std::shared_ptr<redis_channel> make_channel(asio::io_context& io, std::shared_ptr<redis::client> client,
                                            collected<rp::message>& box, bool room_channels,
                                            room_set* local = nullptr) {
  redis_channel_options o;
  o.log = test_log();
  o.room_channels = room_channels;
  if (local) o.has_local_room = [local](std::string_view nsp, std::string_view room) { return local->has(nsp, room); };
  return redis_channel::create(io.get_executor(), std::move(client), std::move(o),
                               [&box](rp::message m) { box.add(std::move(m)); });
}

bool has_tag(const std::vector<rp::message>& v, const std::string& tag) {
  return std::any_of(v.begin(), v.end(), [&](const auto& m) { return tag_of(m) == tag; });
}

std::size_t count_tag(const std::vector<rp::message>& v, const std::string& tag) {
  return static_cast<std::size_t>(std::count_if(v.begin(), v.end(), [&](const auto& m) { return tag_of(m) == tag; }));
}

// A publishes, B (members in "user:X" only) receives; both in `room_channels` mode. Checks
// which channel each message used and what B decoded.
void room_routing(const std::string& url, redis::topology topo, bool room_channels) {
  io_threads t;
  auto client = make_client(t.io, url, topo);
  observer obs(*client);
  collected<rp::message> box_a, box_b;
  room_set local_b;
  local_b.rooms.insert("user:X");
  auto a = make_channel(t.io, client, box_a, room_channels);
  auto b = make_channel(t.io, client, box_b, room_channels, &local_b);
  a->start();
  b->start();
  ASSERT_TRUE(eventually([&] { return a->subscribed() && b->subscribed() && obs.sub->subscribed(); }));
  EXPECT_EQ(a->room_channels(), room_channels);

  // Settle: on a Cluster a pattern subscription on another node may still be starting.
  ASSERT_TRUE(eventually([&] {
    a->publish(emit_to(std::string("user:X"), "probe"));
    return box_b.wait_until([](const auto& v) { return has_tag(v, "probe"); }, 200ms);
  }, 15s));

  ASSERT_FALSE(a->publish(emit_to(std::string("user:X"), "to-x")));
  ASSERT_FALSE(a->publish(emit_to(std::string("user:Y"), "to-y")));
  ASSERT_FALSE(a->publish(emit_to(std::vector<std::string>{"user:X", "user:Z"}, "to-list")));
  ASSERT_FALSE(a->publish(emit_to(std::monostate{}, "to-all")));
  ASSERT_FALSE(a->publish(rp::enter_room_message{"sid-remote-000000001", "user:X", "/", ""}));
  auto call = emit_to(std::string("sid-remote-000000002"), "call");
  call.callback = rp::ack_ref{"sid-remote-000000002", "/", 3};
  ASSERT_FALSE(a->publish(call));
  // The last message on user:X's channel: once B has it, B has everything sent there before.
  ASSERT_FALSE(a->publish(emit_to(std::string("user:X"), "end-x")));
  ASSERT_TRUE(box_b.wait_until([](const auto& v) {
    return has_tag(v, "end-x") && has_tag(v, "to-list") && has_tag(v, "to-all") &&
           std::any_of(v.begin(), v.end(), [](const auto& m) { return std::holds_alternative<rp::enter_room_message>(m); });
  }));
  ASSERT_TRUE(eventually([&] { return obs.saw("end-x") && obs.saw("to-y") && obs.saw("call") && obs.saw("to-all"); }));

  const std::string shared = "socketio";
  const std::string x = room_channels ? "socketio#/#user:X" : shared;
  EXPECT_EQ(obs.channels_of("to-x"), std::vector<std::string>{x});
  EXPECT_EQ(obs.channels_of("to-y"), std::vector<std::string>{room_channels ? "socketio#/#user:Y" : shared});
  EXPECT_EQ(obs.channels_of("call"),
            std::vector<std::string>{room_channels ? "socketio#/#sid-remote-000000002" : shared});
  EXPECT_EQ(obs.channels_of("to-list"), std::vector<std::string>{shared});
  EXPECT_EQ(obs.channels_of("to-all"), std::vector<std::string>{shared});
  EXPECT_EQ(obs.channels_of("sid-remote-000000001"), std::vector<std::string>{shared});  // enter_room

  const auto got = box_b.snapshot();
  EXPECT_EQ(count_tag(got, "to-x"), 1u);
  EXPECT_EQ(count_tag(got, "to-list"), 1u);
  EXPECT_EQ(count_tag(got, "to-all"), 1u);
  if (room_channels) {
    // user:Y and the remote sid have no member on B: skipped before decoding.
    EXPECT_EQ(count_tag(got, "to-y"), 0u);
    EXPECT_EQ(count_tag(got, "call"), 0u);
    EXPECT_TRUE(eventually([&] { return b->stats().not_local >= 2; })) << b->stats().not_local;
  } else {
    // The v0.11.0 behaviour: every message is decoded and handed to the adapter.
    EXPECT_TRUE(box_b.wait_until([](const auto& v) { return has_tag(v, "to-y") && has_tag(v, "call"); }));
    EXPECT_EQ(b->stats().not_local, 0u);
  }
  EXPECT_EQ(count_tag(box_a.snapshot(), "to-x"), 0u) << "A filters its own messages";
  a->stop();
  b->stop();
  client->stop();
}

// --- end to end -------------------------------------------------------------------------------

const std::filesystem::path js_dir = std::filesystem::path(OWCORE_SOURCE_DIR) / "tests/js";

// Empty when node and socket.io-client are installed, else why the test cannot run.
std::string missing_node_client() {
  if (!std::filesystem::exists("/usr/bin/node")) return "node is not installed";
  if (!std::filesystem::exists(js_dir / "node_modules/socket.io-client"))
    return "socket.io-client is not installed (npm ci in tests/js)";
  return {};
}

// One `owcore serve` with WEBSOCKET_MANAGER=redis and the testing profile.
struct instance {
  int port = test::free_port();
  std::optional<test::process> proc;
  instance(const test::temp_dir& dir, const std::string& name, const std::vector<std::string>& env) {
    std::vector<std::string> argv{"env", "-i", "PATH=/usr/bin:/bin", "WEBUI_SECRET_KEY=room-channel-test-secret",
                                  "PORT=" + std::to_string(port), "DATA_DIR=" + (dir.path() / name).string(),
                                  "WEBSOCKET_MANAGER=redis", "OWCORE_SOCKETIO_PROFILE=testing"};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.push_back(OWCORE_TESTBED_BINARY);
    argv.push_back("serve");
    proc.emplace(std::move(argv), dir.path() / (name + ".log"));
    if (!test::wait_for_http(port, "/health", 15s)) throw std::runtime_error("owcore did not start:\n" + proc->log_tail());
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

bool exited_ok(const std::optional<int>& status) { return status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0; }

// Two instances on `redis_env`; A's client emits to ROOM, B's client must get it exactly once.
// Returns the channels the observer saw carrying the test's `deliver` emits.
std::set<std::string> room_emit_across(const std::string& url, redis::topology topo,
                                       const std::vector<std::string>& redis_env) {
  const std::string room = "user:rc-e2e";
  io_threads t;
  auto client = make_client(t.io, url, topo);
  observer obs(*client);
  EXPECT_TRUE(eventually([&] { return obs.sub->subscribed(); }));
  test::temp_dir dir("owcore-room-channel-");
  instance a(dir, "a", redis_env), b(dir, "b", redis_env);
  test::process js({"/usr/bin/node", (js_dir / "redis_room_channels_check.mjs").string(), "--a", a.url(), "--b",
                    b.url(), "--room", room},
                   dir.path() / "client.log");
  const auto status = js.wait_for_exit(25s);
  EXPECT_TRUE(exited_ok(status)) << "client:\n" << js.log_tail() << "\ninstance a:\n" << a.proc->log_tail()
                                 << "\ninstance b:\n" << b.proc->log_tail();
  // The last emit ("end") reached B through Redis, so the observer has it too.
  EXPECT_TRUE(eventually([&] { return obs.saw("end"); }));
  std::set<std::string> channels;
  for (const auto& [channel, payload] : obs.seen.snapshot())
    if (payload.find("\"deliver\"") != std::string::npos) channels.insert(channel);
  client->stop();
  return channels;
}

}  // namespace

TEST(Subscriber, PatternSubscriptionSurvivesReconnectAndPunsubscribe) {
  test::standalone_topology topo;
  io_threads t;
  auto client = make_client(t.io, topo.url());
  collected<redis::message> box;
  auto sub = client->make_subscriber([&](const redis::message& m) { box.add(m); }, "pattern test", "");
  sub->subscribe("plain");
  sub->psubscribe("rc#*");
  sub->start();
  ASSERT_TRUE(eventually([&] { return sub->subscribed(); }));

  auto publish = [&](const std::string& channel, const std::string& payload) {
    test::redis_command(topo.port(), {"PUBLISH", channel, payload});
  };
  auto has_payload = [](const std::string& p) {
    return [p](const std::vector<redis::message>& v) {
      return std::any_of(v.begin(), v.end(), [&](const auto& m) { return m.payload == p; });
    };
  };
  // The PSUBSCRIBE confirmation may follow the SUBSCRIBE one: publish until it is live.
  ASSERT_TRUE(eventually([&] {
    publish("rc#a", "one");
    return box.wait_until(has_payload("one"), 100ms);
  }));
  const auto first = box.snapshot();
  const auto it = std::find_if(first.begin(), first.end(), [](const auto& m) { return m.payload == "one"; });
  EXPECT_EQ(it->type, redis::message::kind::pmessage);
  EXPECT_EQ(it->pattern, "rc#*");
  EXPECT_EQ(it->channel, "rc#a");

  // A killed connection: both subscriptions come back by themselves.
  test::redis_command(topo.port(), {"CLIENT", "KILL", "TYPE", "pubsub"});
  ASSERT_TRUE(eventually([&] { return sub->drops() >= 1 && sub->subscribed(); }));
  ASSERT_TRUE(eventually([&] {
    publish("rc#b", "two");
    return box.wait_until(has_payload("two"), 100ms);
  }));

  // After punsubscribe only the channel remains: "three" (pattern) was published before "four"
  // (channel) on the same server and connection, so its absence when "four" arrives is final.
  sub->punsubscribe("rc#*");
  ASSERT_TRUE(eventually([&] { return test::redis_command(topo.port(), {"PUBSUB", "NUMPAT"}).integer == 0; }));
  publish("rc#c", "three");
  publish("plain", "four");
  ASSERT_TRUE(box.wait_until(has_payload("four")));
  EXPECT_FALSE(has_payload("three")(box.snapshot()));
  sub->stop();
  client->stop();
}

TEST(RoomChannels, EmitToOneRoomUsesItsChannelStandalone) {
  test::standalone_topology topo;
  room_routing(topo.url(), redis::topology::standalone, true);
}

TEST(RoomChannels, DisabledKeepsTheSharedChannelStandalone) {
  test::standalone_topology topo;
  room_routing(topo.url(), redis::topology::standalone, false);
}

TEST(RoomChannels, EmitToOneRoomUsesItsChannelCluster) {
  test::cluster_topology topo;
  room_routing(topo.seed_url(), redis::topology::cluster, true);
}

TEST(RoomChannels, DisabledKeepsTheSharedChannelCluster) {
  test::cluster_topology topo;
  room_routing(topo.seed_url(), redis::topology::cluster, false);
}

// An ACL user limited to `&socketio` (as before 0.11.5): B's PSUBSCRIBE gets NOPERM and B falls
// back to the shared channel without losing its subscription. A queues a room emit before it
// starts, so its first PUBLISH on the room channel usually meets NOPERM before its own
// PSUBSCRIBE does; whichever refusal comes first, the emit must travel on `socketio` only
// (a refused PUBLISH delivers nothing) and reach B exactly once, and later room emits go on
// `socketio` directly.
TEST(RoomChannels, NopermFallsBackToTheSharedChannel) {
  test::standalone_options so;
  so.extra_config = {"user limited on >limited-pw ~open-webui:* &socketio +@all"};
  test::standalone_topology topo(so);
  io_threads t;
  const std::string limited_url = "redis://limited:limited-pw@127.0.0.1:" + std::to_string(topo.port()) + "/0";
  auto limited = make_client(t.io, limited_url);
  auto admin = make_client(t.io, topo.url());
  observer obs(*admin);
  collected<rp::message> box_a, box_b;
  room_set local_b;
  local_b.rooms.insert("user:X");
  auto a = make_channel(t.io, limited, box_a, true);
  auto b = make_channel(t.io, limited, box_b, true, &local_b);
  b->start();
  ASSERT_TRUE(eventually([&] { return !b->room_channels() && b->subscribed() && obs.sub->subscribed(); }))
      << "B's PSUBSCRIBE was refused and B fell back";
  // With the client's connection ready, A's PUBLISH (one write) practically always beats its
  // subscriber's new connection, so this exercises the PUBLISH refusal.
  ASSERT_TRUE(eventually([&] {
    const auto nodes = limited->nodes();
    return !nodes.empty() && nodes.front().connected;
  }));
  ASSERT_FALSE(a->publish(emit_to(std::string("user:X"), "refused-then-shared")));
  a->start();
  ASSERT_TRUE(eventually([&] { return a->subscribed() && !a->room_channels(); }));
  ASSERT_FALSE(a->publish(emit_to(std::string("user:X"), "after-fallback")));
  ASSERT_TRUE(box_b.wait_until([](const auto& v) { return has_tag(v, "after-fallback"); }));
  const auto got = box_b.snapshot();
  EXPECT_EQ(count_tag(got, "refused-then-shared"), 1u);
  EXPECT_EQ(count_tag(got, "after-fallback"), 1u);
  ASSERT_TRUE(eventually([&] { return obs.saw("after-fallback"); }));
  EXPECT_EQ(obs.channels_of("refused-then-shared"), std::vector<std::string>{"socketio"});
  EXPECT_EQ(obs.channels_of("after-fallback"), std::vector<std::string>{"socketio"});
  EXPECT_EQ(a->stats().publish_failed, 0u);
  a->stop();
  b->stop();
  limited->stop();
  admin->stop();
}

#define OWCORE_NEED_NODE_CLIENT()                                     \
  do {                                                                \
    if (auto why = missing_node_client(); !why.empty()) {             \
      if (OWCORE_REQUIRE_JS) FAIL() << why;                           \
      GTEST_SKIP() << why;                                            \
    }                                                                 \
  } while (false)

TEST(RoomChannels, RoomEmitReachesTheOtherInstanceOnceStandalone) {
  OWCORE_NEED_NODE_CLIENT();
  test::standalone_topology topo;
  const auto channels = room_emit_across(topo.url(), redis::topology::standalone, {"REDIS_URL=" + topo.url()});
  EXPECT_EQ(channels, std::set<std::string>{"socketio#/#user:rc-e2e"});
}

TEST(RoomChannels, RoomEmitReachesTheOtherInstanceOnceCluster) {
  OWCORE_NEED_NODE_CLIENT();
  test::cluster_topology topo;
  const auto channels = room_emit_across(topo.seed_url(), redis::topology::cluster,
                                         {"REDIS_URL=" + topo.seed_url(), "REDIS_CLUSTER=true"});
  EXPECT_EQ(channels, std::set<std::string>{"socketio#/#user:rc-e2e"});
}

TEST(RoomChannels, DisabledInstancesUseTheSharedChannel) {
  OWCORE_NEED_NODE_CLIENT();
  test::standalone_topology topo;
  const auto channels = room_emit_across(topo.url(), redis::topology::standalone,
                                         {"REDIS_URL=" + topo.url(), "WEBSOCKET_REDIS_ROOM_CHANNELS=false"});
  EXPECT_EQ(channels, std::set<std::string>{"socketio"});
}

// An Open WebUI 0.11.5 peer (room_channels_interop.py) and one owcore instance on one Redis.
TEST(RoomChannels, OpenWebUi0115PeerInteropStandalone) {
  OWCORE_NEED_NODE_CLIENT();
  test::standalone_topology topo;
  test::temp_dir dir("owcore-room-channel-");
  instance a(dir, "a", {"REDIS_URL=" + topo.url()});
  const auto sid_file = dir.path() / "client-sid.json";
  test::process py({"/usr/bin/python3",
                    (std::filesystem::path(OWCORE_SOURCE_DIR) / "tests/integration/python/room_channels_interop.py")
                        .string(),
                    "--port", std::to_string(topo.port()), "--sid-file", sid_file.string(), "--timeout", "15"},
                   dir.path() / "python.log");
  test::process client({"/usr/bin/node", (js_dir / "redis_room_channels_python_peer.mjs").string(), "--url", a.url(),
                        "--sid-file", sid_file.string()},
                       dir.path() / "client.log");
  const auto client_status = client.wait_for_exit(20s);
  const auto py_status = py.wait_for_exit(client_status ? 5s : 1s);
  const auto logs = "client:\n" + client.log_tail() + "\npython:\n" + py.log_tail() + "\ninstance:\n" +
                    a.proc->log_tail();
  EXPECT_TRUE(exited_ok(client_status)) << logs;
  EXPECT_TRUE(exited_ok(py_status)) << logs;
}

}  // namespace room_channel_test
