// The in-memory adapter: rooms, broadcast selection with exclusions, weak references, limits.
#include "owcore/realtime/adapter/memory_adapter.hpp"

#include <gtest/gtest.h>

#include <atomic>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace socketio_memory_adapter_test {

namespace ad = owcore::realtime::adapter;
namespace sio = owcore::realtime::socketio;

namespace {

struct fake_socket final : ad::local_socket {
  std::vector<std::string> received;  // the text frame of every delivered packet
  int disconnects = 0;
  int calls = 0;
  void deliver(const std::shared_ptr<const sio::encoded_packet>& frames) override {
    received.push_back(*frames->front().bytes);
  }
  void deliver_call(sio::packet, std::chrono::milliseconds, ad::ack_callback on_ack) override {
    ++calls;
    sio::payload p;
    p.args.emplace_back("pong");
    on_ack(std::move(p));
  }
  void disconnect_from_server() override { ++disconnects; }
};

sio::packet event(std::string_view name) { return sio::make_event("/", name, {}); }

ad::broadcast_target to(std::vector<std::string> rooms, std::vector<std::string> except = {},
                        std::string nsp = "/") {
  ad::broadcast_target t;
  t.nsp = std::move(nsp);
  t.rooms = std::move(rooms);
  t.except = std::move(except);
  return t;
}

}  // namespace

TEST(SocketioMemoryAdapter, EverySocketIsInItsOwnRoom) {
  ad::memory_adapter a;
  auto s = std::make_shared<fake_socket>();
  a.add_socket("/", "sid1", s);
  EXPECT_EQ(a.rooms_of("/", "sid1"), std::vector<std::string>{"sid1"});
  EXPECT_EQ(a.sids_in("/", "sid1"), std::vector<std::string>{"sid1"});
  EXPECT_EQ(a.socket_count("/"), 1u);
  EXPECT_EQ(a.find("/", "sid1"), s);
  EXPECT_EQ(a.find("/other", "sid1"), nullptr);
}

TEST(SocketioMemoryAdapter, BroadcastSelectsRoomsAndExclusions) {
  ad::memory_adapter a;
  auto s1 = std::make_shared<fake_socket>(), s2 = std::make_shared<fake_socket>(), s3 = std::make_shared<fake_socket>();
  a.add_socket("/", "a", s1);
  a.add_socket("/", "b", s2);
  a.add_socket("/", "c", s3);
  a.add_socket("/admin", "d", std::make_shared<fake_socket>());
  EXPECT_TRUE(a.add_room("/", "a", "room1"));
  EXPECT_TRUE(a.add_room("/", "b", "room1"));
  EXPECT_TRUE(a.add_room("/", "b", "room2"));
  EXPECT_TRUE(a.add_room("/", "c", "room2"));

  a.broadcast(event("all"), to({}));
  a.broadcast(event("r1"), to({"room1"}));
  a.broadcast(event("r1-not-a"), to({"room1"}, {"a"}));
  a.broadcast(event("r1r2"), to({"room1", "room2"}));               // b only once
  a.broadcast(event("r1r2-not-r2"), to({"room1", "room2"}, {"room2"}));
  a.broadcast(event("nobody"), to({"missing"}));

  EXPECT_EQ(s1->received, (std::vector<std::string>{R"(42["all"])", R"(42["r1"])", R"(42["r1r2"])",
                                                    R"(42["r1r2-not-r2"])"}));
  EXPECT_EQ(s2->received, (std::vector<std::string>{R"(42["all"])", R"(42["r1"])", R"(42["r1-not-a"])",
                                                    R"(42["r1r2"])"}));
  EXPECT_EQ(s3->received, (std::vector<std::string>{R"(42["all"])", R"(42["r1r2"])"}));
}

TEST(SocketioMemoryAdapter, BroadcastEncodesForTheTargetNamespace) {
  ad::memory_adapter a;
  auto s = std::make_shared<fake_socket>();
  a.add_socket("/admin", "x", s);
  a.broadcast(event("hi"), to({}, {}, "/admin"));
  EXPECT_EQ(s->received, std::vector<std::string>{R"(42/admin,["hi"])"});
}

TEST(SocketioMemoryAdapter, LeavingAndClosingRooms) {
  ad::memory_adapter a;
  auto s1 = std::make_shared<fake_socket>(), s2 = std::make_shared<fake_socket>();
  a.add_socket("/", "a", s1);
  a.add_socket("/", "b", s2);
  a.add_room("/", "a", "r");
  a.add_room("/", "b", "r");
  a.del_room("/", "a", "r");
  EXPECT_EQ(a.sids_in("/", "r"), std::vector<std::string>{"b"});
  a.close_room("/", "r");
  EXPECT_TRUE(a.sids_in("/", "r").empty());
  EXPECT_EQ(a.rooms_of("/", "b"), std::vector<std::string>{"b"});
  a.remove_socket("/", "a");
  EXPECT_TRUE(a.rooms_of("/", "a").empty());
  EXPECT_EQ(a.socket_count("/"), 1u);
  EXPECT_FALSE(a.add_room("/", "a", "r"));  // gone: not joined (a Redis adapter would forward)
}

TEST(SocketioMemoryAdapter, DeadSocketsAreSkipped) {
  ad::memory_adapter a;
  auto live = std::make_shared<fake_socket>();
  a.add_socket("/", "live", live);
  {
    auto gone = std::make_shared<fake_socket>();
    a.add_socket("/", "gone", gone);
  }
  a.broadcast(event("x"), to({}));
  EXPECT_EQ(live->received.size(), 1u);
  EXPECT_EQ(a.find("/", "gone"), nullptr);
}

TEST(SocketioMemoryAdapter, RoomLimitPerSocket) {
  ad::memory_adapter_options o;
  o.max_rooms_per_socket = 3;
  ad::memory_adapter a(o);
  auto s = std::make_shared<fake_socket>();
  a.add_socket("/", "s", s);  // its own room counts
  EXPECT_TRUE(a.add_room("/", "s", "r1"));
  EXPECT_TRUE(a.add_room("/", "s", "r2"));
  EXPECT_FALSE(a.add_room("/", "s", "r3"));
  EXPECT_TRUE(a.add_room("/", "s", "r2"));  // already in: fine
}

TEST(SocketioMemoryAdapter, DisconnectAndCallReachLocalSocketsOnly) {
  ad::memory_adapter a;
  auto s = std::make_shared<fake_socket>();
  a.add_socket("/", "s", s);
  a.disconnect("/", "s");
  a.disconnect("/", "elsewhere");
  EXPECT_EQ(s->disconnects, 1);

  std::optional<ad::ack_result> got;
  a.call("/", "s", event("ask"), std::chrono::milliseconds(100), [&](ad::ack_result r) { got = std::move(r); });
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->args.at(0).as_string(), "pong");

  got.reset();
  a.call("/", "elsewhere", event("ask"), std::chrono::milliseconds(100), [&](ad::ack_result r) { got = std::move(r); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->error(), sio::error::no_such_socket);
}

namespace {

// Exposes the protected room query the Redis adapter filters room-channel messages with.
struct probe_adapter : ad::memory_adapter {
  using ad::memory_adapter::has_local_members;
};

}  // namespace

TEST(SocketioMemoryAdapter, HasLocalMembersFollowsJoinsLeavesAndOwnRooms) {
  probe_adapter a;
  auto s = std::make_shared<fake_socket>();
  EXPECT_FALSE(a.has_local_members("/", "user:1"));
  a.add_socket("/", "sid1", s);
  EXPECT_TRUE(a.has_local_members("/", "sid1"));  // a sid's own room
  EXPECT_FALSE(a.has_local_members("/admin", "sid1"));
  EXPECT_FALSE(a.has_local_members("/", "user:1"));
  ASSERT_TRUE(a.add_room("/", "sid1", "user:1"));
  EXPECT_TRUE(a.has_local_members("/", "user:1"));
  a.del_room("/", "sid1", "user:1");
  EXPECT_FALSE(a.has_local_members("/", "user:1"));
  ASSERT_TRUE(a.add_room("/", "sid1", "user:1"));
  a.close_room("/", "user:1");
  EXPECT_FALSE(a.has_local_members("/", "user:1"));
  ASSERT_TRUE(a.add_room("/", "sid1", "user:1"));
  a.remove_socket("/", "sid1");
  EXPECT_FALSE(a.has_local_members("/", "user:1"));
  EXPECT_FALSE(a.has_local_members("/", "sid1"));
}

}  // namespace socketio_memory_adapter_test
