#pragma once
// The state machine of one Engine.IO session, without I/O. The Asio shell
// (session.hpp) feeds it requests, frames and clock ticks, and does what the return values say:
// answer a long-poll, write a frame, deliver a message, close a socket. Everything here is
// deterministic and unit-tested with a fake clock.
//
// Lifecycle: open -> (closing) -> closed. A graceful close (the application's or the server's)
// passes through `closing`, during which already-queued packets still reach the client followed
// by a `close` packet (polling) or a WebSocket close frame; every other close is immediate.
//
// Limits: the outbound queue is bounded by `max_queued_packets` and
// `max_queued_bytes`; overflow closes the session (policy: a client too slow to drain its queue
// is disconnected, it never makes the server buffer without bound). A long-poll response carries
// at most `max_payload` bytes (but always at least one packet).

#include "owcore/realtime/engineio/handshake.hpp"
#include "owcore/realtime/engineio/packet.hpp"

#include <chrono>
#include <cstddef>
#include <vector>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace owcore::realtime::engineio {

/// Why a session ended.
enum class close_reason {
  client_close,     ///< the client sent a `close` packet
  server_close,     ///< the application closed it (graceful)
  shutdown,         ///< the server is stopping (graceful)
  ping_timeout,     ///< no `pong` within ping_timeout of a `ping`
  transport_close,  ///< the active transport went away (socket closed or failed)
  protocol_error,   ///< malformed input, or a forbidden request sequence (two concurrent GETs)
  queue_overflow,   ///< the outbound queue passed its limit
};

/// A short lower-case name for logs ("ping timeout", ...).
std::string_view to_string(close_reason r) noexcept;

/// True for the reasons that flush queued packets before closing.
constexpr bool is_graceful(close_reason r) noexcept {
  return r == close_reason::server_close || r == close_reason::shutdown;
}

/// Timings and limits of one session. Defaults are Engine.IO's and python-engineio's.
struct fsm_options {
  std::chrono::milliseconds ping_interval{25000};   ///< WEBSOCKET_SERVER_PING_INTERVAL
  std::chrono::milliseconds ping_timeout{20000};    ///< WEBSOCKET_SERVER_PING_TIMEOUT
  std::chrono::milliseconds upgrade_timeout{10000}; ///< probe + `upgrade` must finish within this
  std::chrono::milliseconds close_linger{5000};     ///< a graceful close waits at most this long
  std::size_t max_payload = 1'000'000;              ///< bytes per long-poll response (soft)
  std::size_t max_queued_packets = 4096;            ///< outbound queue limit (packets)
  std::size_t max_queued_bytes = 8 * 1024 * 1024;   ///< outbound queue limit (bytes)
};

/// The outbound frame queue of a session: a vector read from a moving head. Unlike std::deque
/// it allocates nothing while empty (most sessions are idle most of the time) and gives its
/// memory back once drained.
class frame_queue {
 public:
  bool empty() const noexcept { return head_ == items_.size(); }
  std::size_t size() const noexcept { return items_.size() - head_; }
  const frame& front() const noexcept { return items_[head_]; }
  void push_back(const frame& f) { items_.push_back(f); }
  /// Removes and returns the first frame. Precondition: !empty().
  frame pop_front();
  void clear() noexcept;

 private:
  std::vector<frame> items_;
  std::size_t head_ = 0;
};

/// One session's protocol state. Not thread-safe: the shell confines it to the session's strand.
class session_fsm {
 public:
  using clock = std::chrono::steady_clock;

  /// The lifecycle state.
  enum class state { open, closing, closed };

  /// Starts an open session on `transport` at `now`; the first ping is due ping_interval later.
  session_fsm(fsm_options opts, transport_kind transport, clock::time_point now);

  /// The lifecycle state.
  state current() const noexcept { return state_; }
  /// The transport in use (polling until an upgrade completes).
  transport_kind transport() const noexcept { return transport_; }
  /// The close reason, once the session left `open`.
  std::optional<close_reason> reason() const noexcept { return reason_; }
  /// The options the session runs with.
  const fsm_options& options() const noexcept { return opts_; }

  // --- outbound -------------------------------------------------------------------------------

  /// Outcome of queueing packets.
  enum class send_result {
    queued,    ///< the frames are queued
    dropped,   ///< the session is no longer open; nothing was queued
    overflow,  ///< the limit was passed: nothing was queued and the session is now closed
  };

  /// Queues `batch` as one unit (all frames or none; a Socket.IO packet and its attachments are
  /// never split or interleaved with other packets).
  send_result send(std::span<const frame> batch);
  /// Queues one frame.
  send_result send(const frame& f) { return send(std::span<const frame>(&f, 1)); }

  /// Number of frames waiting to be sent.
  std::size_t queued_packets() const noexcept { return queue_.size(); }
  /// Bytes waiting to be sent.
  std::size_t queued_bytes() const noexcept { return queued_bytes_; }

  /// WebSocket transport: removes and returns the next frame to write, if any.
  std::optional<frame> next_frame();

  /// WebSocket transport: true when the writer has nothing left to write and should close the
  /// WebSocket (the session is closed, or closing with an empty queue).
  bool transport_should_close() const noexcept;

  /// WebSocket transport: the writer finished a graceful close; `closing` becomes `closed`.
  void finish_closing() noexcept;

  // --- long-polling ---------------------------------------------------------------------------

  /// What to do with a new long-poll GET.
  enum class poll_start {
    respond,  ///< answer now with finish_poll()
    wait,     ///< hold the request until poll_ready(), then answer with finish_poll()
    reject,   ///< answer 400: not a polling session (any more), or a second concurrent GET,
              ///< which also closes the session (the first GET is then answered with `close`)
  };

  /// Registers a GET. At most one may be pending.
  poll_start begin_poll();

  /// True when a pending GET should be answered now: packets are queued, the session left
  /// `open`, an upgrade probe arrived, or the transport changed.
  bool poll_ready() const noexcept;

  /// True while a GET is registered and not yet answered.
  bool poll_pending() const noexcept { return poll_pending_; }

  /// Builds the body of the pending GET and unregisters it: queued packets up to max_payload
  /// bytes; `noop` when an upgrade ended or is being probed and nothing is queued; after a
  /// client close `noop`, after any other close `close` (during a graceful close, once the
  /// queue is drained, the `close` packet follows the last packets and the session is closed).
  std::string finish_poll();

  // --- inbound --------------------------------------------------------------------------------

  /// What the shell must do after a packet from the active transport.
  enum class inbound {
    none,     ///< nothing (pong, noop, ...)
    deliver,  ///< a `message`: hand its data to the application
    replied,  ///< an answer (pong to a client ping) was queued: wake the writer
    closed,   ///< the session closed (client `close`, or the reply overflowed the queue)
  };

  /// Processes one packet received on the active transport. Ignored unless `open`.
  inbound on_packet(const packet& p, clock::time_point now);

  // --- upgrade (polling -> websocket) ---------------------------------------------------------

  /// A WebSocket with this session's id arrived. Accepted only for an open polling session with
  /// no other candidate and with upgrades allowed; the probe and `upgrade` must follow within
  /// upgrade_timeout.
  bool begin_upgrade(clock::time_point now, bool upgrades_allowed);
  /// True while a WebSocket candidate exists (between begin_upgrade and complete/abort).
  bool upgrading() const noexcept { return candidate_; }
  /// True once the candidate sent `ping probe` (a pending GET is then answered with `noop`).
  bool probed() const noexcept { return probed_; }
  /// The candidate sent `ping probe`. False (abort the upgrade) when there is no candidate or it
  /// already probed.
  bool on_probe() noexcept;
  /// The candidate sent `upgrade` after a probe: the session now uses WebSocket. False (abort)
  /// when there was no probe.
  bool complete_upgrade() noexcept;
  /// Drops the candidate (it failed, timed out, or sent something unexpected).
  void abort_upgrade() noexcept;

  // --- closing and timers ---------------------------------------------------------------------

  /// Closes the session for `r` (see is_graceful). Idempotent: the first reason wins, except
  /// that a non-graceful close ends a graceful one in progress.
  void close(close_reason r, clock::time_point now);

  /// The next instant on_timer() has work to do (time_point::max() when closed).
  clock::time_point next_deadline() const noexcept;

  /// What a timer tick did.
  struct timer_effects {
    bool ping_queued = false;      ///< a `ping` was queued: wake the writer or the GET
    bool upgrade_aborted = false;  ///< the upgrade candidate timed out: close its socket
    bool closed = false;           ///< the session closed (ping timeout or linger elapsed)
  };

  /// Runs the deadlines due at `now`.
  timer_effects on_timer(clock::time_point now);

 private:
  void clear_queue() noexcept;

  fsm_options opts_;
  state state_ = state::open;
  transport_kind transport_;
  std::optional<close_reason> reason_;

  frame_queue queue_;
  std::size_t queued_bytes_ = 0;

  bool poll_pending_ = false;

  bool candidate_ = false;
  bool probed_ = false;
  clock::time_point upgrade_deadline_{};

  bool awaiting_pong_ = false;
  clock::time_point next_ping_{};
  clock::time_point pong_deadline_{};
  clock::time_point linger_deadline_{};
};

}  // namespace owcore::realtime::engineio
