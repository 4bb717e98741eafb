// The Engine.IO session state machine, driven with a fake clock.
#include "owcore/realtime/engineio/session_fsm.hpp"

#include <gtest/gtest.h>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace engineio_session_fsm_test {

namespace eio = owcore::realtime::engineio;
using eio::close_reason;
using eio::packet;
using eio::packet_type;
using eio::session_fsm;
using eio::transport_kind;
using namespace std::chrono_literals;

namespace {

eio::fsm_options opts() {
  eio::fsm_options o;
  o.ping_interval = 300ms;
  o.ping_timeout = 200ms;
  o.upgrade_timeout = 1000ms;
  o.close_linger = 500ms;
  o.max_payload = 100;
  o.max_queued_packets = 8;
  o.max_queued_bytes = 1000;
  return o;
}

const session_fsm::clock::time_point t0{std::chrono::seconds(1000)};

packet msg(std::string data) { return packet{packet_type::message, std::move(data), false}; }
packet of(packet_type t, std::string data = {}) { return packet{t, std::move(data), false}; }

}  // namespace

TEST(EngineioSessionFsm, LongPollWaitsThenGetsQueuedPackets) {
  session_fsm f(opts(), transport_kind::polling, t0);
  EXPECT_EQ(f.begin_poll(), session_fsm::poll_start::wait);
  EXPECT_FALSE(f.poll_ready());
  EXPECT_EQ(f.send(eio::message_frame("a")), session_fsm::send_result::queued);
  EXPECT_EQ(f.send(eio::binary_frame("\x01")), session_fsm::send_result::queued);
  EXPECT_TRUE(f.poll_ready());
  EXPECT_EQ(f.finish_poll(), "4a\x1e" "bAQ==");
  EXPECT_FALSE(f.poll_pending());
  EXPECT_EQ(f.queued_packets(), 0u);
  EXPECT_EQ(f.queued_bytes(), 0u);
}

TEST(EngineioSessionFsm, LongPollResponseIsBoundedByMaxPayload) {
  session_fsm f(opts(), transport_kind::polling, t0);
  for (int i = 0; i < 5; ++i) f.send(eio::message_frame(std::string(40, 'x')));
  EXPECT_EQ(f.begin_poll(), session_fsm::poll_start::respond);
  auto first = f.finish_poll();
  EXPECT_LE(first.size(), 100u);
  EXPECT_EQ(f.queued_packets(), 3u);
  // A single packet bigger than the budget still goes out alone.
  session_fsm g(opts(), transport_kind::polling, t0);
  g.send(eio::message_frame(std::string(150, 'y')));
  g.begin_poll();
  EXPECT_EQ(g.finish_poll().size(), 151u);
}

TEST(EngineioSessionFsm, DuplicateGetClosesAndFirstGetReceivesClose) {
  session_fsm f(opts(), transport_kind::polling, t0);
  EXPECT_EQ(f.begin_poll(), session_fsm::poll_start::wait);
  EXPECT_EQ(f.begin_poll(), session_fsm::poll_start::reject);
  EXPECT_EQ(f.current(), session_fsm::state::closed);
  EXPECT_EQ(*f.reason(), close_reason::protocol_error);
  EXPECT_TRUE(f.poll_ready());
  EXPECT_EQ(f.finish_poll(), "1");
}

TEST(EngineioSessionFsm, ClientCloseAnswersPendingGetWithNoop) {
  session_fsm f(opts(), transport_kind::polling, t0);
  f.begin_poll();
  EXPECT_EQ(f.on_packet(of(packet_type::close), t0), session_fsm::inbound::closed);
  EXPECT_EQ(f.finish_poll(), "6");
  EXPECT_EQ(*f.reason(), close_reason::client_close);
  EXPECT_EQ(f.begin_poll(), session_fsm::poll_start::reject);
}

TEST(EngineioSessionFsm, PingPongCycleAndTimeout) {
  session_fsm f(opts(), transport_kind::websocket, t0);
  EXPECT_EQ(f.next_deadline(), t0 + 300ms);
  auto fx = f.on_timer(t0 + 299ms);
  EXPECT_FALSE(fx.ping_queued);
  fx = f.on_timer(t0 + 300ms);
  EXPECT_TRUE(fx.ping_queued);
  EXPECT_EQ(*f.next_frame()->bytes, "2");
  EXPECT_EQ(f.next_deadline(), t0 + 500ms);
  EXPECT_EQ(f.on_packet(of(packet_type::pong), t0 + 350ms), session_fsm::inbound::none);
  EXPECT_EQ(f.next_deadline(), t0 + 650ms);
  fx = f.on_timer(t0 + 650ms);
  EXPECT_TRUE(fx.ping_queued);
  fx = f.on_timer(t0 + 849ms);
  EXPECT_FALSE(fx.closed);
  fx = f.on_timer(t0 + 850ms);
  EXPECT_TRUE(fx.closed);
  EXPECT_EQ(*f.reason(), close_reason::ping_timeout);
  EXPECT_EQ(f.next_deadline(), session_fsm::clock::time_point::max());
}

TEST(EngineioSessionFsm, MessagesAreDeliveredAndClientPingsAnswered) {
  session_fsm f(opts(), transport_kind::websocket, t0);
  EXPECT_EQ(f.on_packet(msg("hi"), t0), session_fsm::inbound::deliver);
  EXPECT_EQ(f.on_packet(of(packet_type::ping, "probe"), t0), session_fsm::inbound::replied);
  EXPECT_EQ(*f.next_frame()->bytes, "3probe");
  EXPECT_EQ(f.on_packet(of(packet_type::noop), t0), session_fsm::inbound::none);
  EXPECT_EQ(f.on_packet(of(packet_type::upgrade), t0), session_fsm::inbound::none);
}

TEST(EngineioSessionFsm, QueueOverflowClosesAndQueuesNothing) {
  session_fsm f(opts(), transport_kind::websocket, t0);
  for (int i = 0; i < 8; ++i) ASSERT_EQ(f.send(eio::message_frame("x")), session_fsm::send_result::queued);
  EXPECT_EQ(f.send(eio::message_frame("x")), session_fsm::send_result::overflow);
  EXPECT_EQ(f.current(), session_fsm::state::closed);
  EXPECT_EQ(*f.reason(), close_reason::queue_overflow);
  EXPECT_EQ(f.queued_packets(), 0u);
  EXPECT_EQ(f.send(eio::message_frame("x")), session_fsm::send_result::dropped);

  session_fsm g(opts(), transport_kind::websocket, t0);
  EXPECT_EQ(g.send(eio::message_frame(std::string(2000, 'z'))), session_fsm::send_result::overflow);
}

TEST(EngineioSessionFsm, BatchesAreAllOrNothing) {
  session_fsm f(opts(), transport_kind::websocket, t0);
  std::vector<eio::frame> batch(5, eio::message_frame("x"));
  EXPECT_EQ(f.send(batch), session_fsm::send_result::queued);
  EXPECT_EQ(f.send(batch), session_fsm::send_result::overflow);
}

TEST(EngineioSessionFsm, UpgradeProbeThenUpgrade) {
  session_fsm f(opts(), transport_kind::polling, t0);
  EXPECT_EQ(f.begin_poll(), session_fsm::poll_start::wait);
  EXPECT_TRUE(f.begin_upgrade(t0, true));
  EXPECT_FALSE(f.begin_upgrade(t0, true));  // one candidate at a time
  EXPECT_FALSE(f.poll_ready());
  EXPECT_TRUE(f.on_probe());
  EXPECT_TRUE(f.poll_ready());
  EXPECT_EQ(f.finish_poll(), "6");  // the pending GET ends with noop
  f.send(eio::message_frame("late"));
  EXPECT_TRUE(f.complete_upgrade());
  EXPECT_EQ(f.transport(), transport_kind::websocket);
  EXPECT_EQ(f.begin_poll(), session_fsm::poll_start::reject);  // polling is over
  EXPECT_EQ(f.current(), session_fsm::state::open);
  EXPECT_EQ(*f.next_frame()->bytes, "4late");  // queued packets move to the WebSocket
  EXPECT_FALSE(f.begin_upgrade(t0, true));
}

TEST(EngineioSessionFsm, UpgradeNeedsProbeAndTimesOut) {
  session_fsm f(opts(), transport_kind::polling, t0);
  EXPECT_FALSE(f.begin_upgrade(t0, false));  // upgrades disabled
  EXPECT_TRUE(f.begin_upgrade(t0, true));
  EXPECT_FALSE(f.complete_upgrade());  // `upgrade` without a probe
  f.abort_upgrade();
  EXPECT_TRUE(f.begin_upgrade(t0, true));
  EXPECT_EQ(f.next_deadline(), t0 + 300ms);  // the ping comes first
  f.on_timer(t0 + 300ms);
  f.on_packet(of(packet_type::pong), t0 + 310ms);
  auto fx = f.on_timer(t0 + 1000ms);
  EXPECT_TRUE(fx.upgrade_aborted);
  EXPECT_FALSE(f.upgrading());
  EXPECT_EQ(f.transport(), transport_kind::polling);
}

TEST(EngineioSessionFsm, WebSocketSessionsCannotUpgrade) {
  session_fsm f(opts(), transport_kind::websocket, t0);
  EXPECT_FALSE(f.begin_upgrade(t0, true));
  EXPECT_EQ(f.begin_poll(), session_fsm::poll_start::reject);
}

TEST(EngineioSessionFsm, GracefulPollingCloseFlushesThenSendsClose) {
  session_fsm f(opts(), transport_kind::polling, t0);
  f.send(eio::message_frame("bye"));
  f.close(close_reason::server_close, t0);
  EXPECT_EQ(f.current(), session_fsm::state::closing);
  EXPECT_EQ(f.send(eio::message_frame("late")), session_fsm::send_result::dropped);
  EXPECT_EQ(f.begin_poll(), session_fsm::poll_start::respond);
  EXPECT_EQ(f.finish_poll(), "4bye\x1e" "1");
  EXPECT_EQ(f.current(), session_fsm::state::closed);
}

TEST(EngineioSessionFsm, GracefulCloseLingersAtMostCloseLinger) {
  session_fsm f(opts(), transport_kind::polling, t0);
  f.send(eio::message_frame("never fetched"));
  f.close(close_reason::shutdown, t0);
  EXPECT_EQ(f.next_deadline(), t0 + 500ms);
  EXPECT_TRUE(f.on_timer(t0 + 500ms).closed);
  EXPECT_EQ(f.current(), session_fsm::state::closed);
  EXPECT_EQ(f.queued_packets(), 0u);
}

TEST(EngineioSessionFsm, GracefulWebSocketCloseDrainsTheWriter) {
  session_fsm f(opts(), transport_kind::websocket, t0);
  f.send(eio::message_frame("last"));
  f.close(close_reason::server_close, t0);
  EXPECT_FALSE(f.transport_should_close());
  EXPECT_EQ(*f.next_frame()->bytes, "4last");
  EXPECT_TRUE(f.transport_should_close());
  f.finish_closing();
  EXPECT_EQ(f.current(), session_fsm::state::closed);
}

TEST(EngineioSessionFsm, HardCloseEndsAGracefulOne) {
  session_fsm f(opts(), transport_kind::websocket, t0);
  f.send(eio::message_frame("x"));
  f.close(close_reason::server_close, t0);
  f.close(close_reason::transport_close, t0);
  EXPECT_EQ(f.current(), session_fsm::state::closed);
  EXPECT_EQ(*f.reason(), close_reason::server_close);  // the first reason is kept
  EXPECT_FALSE(f.next_frame());
}

TEST(EngineioSessionFsm, InputAfterCloseIsIgnored) {
  session_fsm f(opts(), transport_kind::websocket, t0);
  f.close(close_reason::protocol_error, t0);
  EXPECT_EQ(f.on_packet(msg("x"), t0), session_fsm::inbound::none);
  EXPECT_EQ(f.on_packet(of(packet_type::close), t0), session_fsm::inbound::none);
}

}  // namespace engineio_session_fsm_test
