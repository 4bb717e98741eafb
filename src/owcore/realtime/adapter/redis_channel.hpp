#pragma once
// The `socketio` pub/sub channel shared with Python Open WebUI instances (docs/wire.md, "The
// socketio channel"): a thin Asio shell over socketio_pubsub. It subscribes at start-up on a
// supervised subscriber (reconnects and re-subscribes by itself), decodes every payload as
// untrusted input, applies python-socketio's host_id self-filter and hands valid messages to a
// callback; and it publishes encoded messages from a bounded queue through one writer loop.
//
// Publish policy (python-socketio tries twice, reconnecting in between, then logs and drops):
//   - publish() never blocks and never waits for Redis: it validates, encodes and enqueues, or
//     refuses at once (queue_full, stopped, or the validation error).
//   - One writer loop sends the queue in order, up to max_batch messages per pipelined request,
//     one request at a time, so messages reach Redis in the order publish() accepted them. On a
//     Cluster every PUBLISH (room channels included) goes to the master of the shared channel
//     name's slot (one node), so every subscriber also receives them in that order (the adapter
//     relies on it: an `emit` after an `enter_room` must find the room joined).
//   - A batch gets publish_timeout in total. The Redis client already waits for a reconnect
//     before writing, which is python-socketio's "retry after reconnect". If the request fails
//     without having been written (any error except unknown_outcome, the timeout and stop), it is
//     sent once more after retry_delay. A batch that may have been written (unknown_outcome,
//     timeout) is never re-sent: at-most-once, like the rest of the protocol, and
//     no duplicate deliveries. Failed batches are logged (rate-limited) and dropped.
//   - A PUBLISH refused by the server (e.g. an ACL error) is counted and logged, not retried.
//
// Room channels (Open WebUI 0.11.5, docs/wire.md; option room_channels): an `emit` whose room is
// one string is published on `<channel>#<namespace>#<room>` instead of `<channel>`, and the
// subscriber also does PSUBSCRIBE `<channel>#*` (after every reconnect too). A message on a room
// channel is decoded only when has_local_room says the room has members here. Everything else
// (broadcasts to no room or to several, callback, disconnect, enter/leave/close room) stays on
// `<channel>`. When Redis answers NOPERM to the PSUBSCRIBE or to a room-channel PUBLISH (an ACL
// without `&<channel>#*`), the channel falls back to the shared channel for good, logs one
// warning, drops the pattern and re-publishes the refused messages on `<channel>`.
//
// Receive policy: a payload that fails to decode (socketio_pubsub::decode) is counted, logged at
// most once per log_interval with the number suppressed since, and dropped; later messages are
// unaffected. Messages the self-filter rejects are counted and dropped silently. Delivery is
// at-most-once: anything published while the subscriber is reconnecting is lost (as in Python).

#include "owcore/net/executor.hpp"
#include "owcore/realtime/adapter/socketio_pubsub.hpp"
#include "owcore/redis/client.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/error_code.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace spdlog {
class logger;
}

namespace owcore::realtime::adapter {

/// Options of a redis_channel. Defaults suit production next to Python Open WebUI.
struct redis_channel_options {
  /// The pub/sub channel. Python's default is "socketio", which interop requires; it is not
  /// prefixed and ignores the DB index, so separate deployments on one server need their own
  /// name (docs/wire.md, "Trust and isolation").
  std::string channel = "socketio";
  /// This process's host id; empty = a new socketio_pubsub::make_host_id(). Must be 32
  /// lowercase hex digits when set (create() throws std::invalid_argument otherwise).
  std::string host_id;
  /// The JSON dialect published. Python reads both; compact is smaller.
  socketio_pubsub::json_style style = socketio_pubsub::json_style::compact;
  /// Bounds for decoding received payloads and validating published messages.
  socketio_pubsub::limits limits;
  /// Messages waiting to be published; publish() fails with queue_full beyond this.
  std::size_t max_queued = 10000;
  /// Bytes of encoded messages waiting to be published; publish() fails with queue_full beyond.
  std::size_t max_queued_bytes = 64 * 1024 * 1024;
  /// Messages per pipelined request, and their total bytes (a larger single message is sent
  /// alone). At most max_queued + max_batch messages are held at any time.
  std::size_t max_batch = 256;
  std::size_t max_batch_bytes = 1024 * 1024;
  /// Total time one batch may take, retry included; it is dropped afterwards.
  std::chrono::steady_clock::duration publish_timeout = std::chrono::seconds(10);
  /// Pause before the single retry of a batch that failed without being written.
  std::chrono::steady_clock::duration retry_delay = std::chrono::milliseconds(250);
  /// Rate limit of repeated warnings (malformed payloads, drops): one line per interval.
  std::chrono::steady_clock::duration log_interval = std::chrono::seconds(10);
  /// Null = silent.
  std::shared_ptr<spdlog::logger> log;
  /// Room-channel mode (WEBSOCKET_REDIS_ROOM_CHANNELS); false = every message on `channel`.
  bool room_channels = false;
  /// Room-channel mode: whether `room` of namespace `nsp` has members on this instance. Asked on
  /// the subscriber's strand for every message on a room channel, before decoding; must be
  /// cheap, thread-safe and non-blocking. Null = deliver every room-channel message.
  std::function<bool(std::string_view nsp, std::string_view room)> has_local_room;
};

/// Counters since creation (a snapshot; each field is read atomically on its own).
struct redis_channel_stats {
  std::uint64_t received = 0;        ///< payloads that arrived on the channel
  std::uint64_t delivered = 0;       ///< handed to the callback
  std::uint64_t filtered = 0;        ///< dropped by the self-filter
  std::uint64_t malformed = 0;       ///< dropped because decode() rejected them
  std::uint64_t published = 0;       ///< PUBLISH commands Redis acknowledged
  std::uint64_t publish_failed = 0;  ///< dropped after the retry policy (or refused by Redis)
  std::uint64_t rejected = 0;        ///< refused by publish() (queue_full, stopped, invalid)
  std::uint64_t not_local = 0;       ///< room-channel messages for rooms with no member here
};

/// The python-socketio pub/sub channel. Create with create(), then start(); stop() before
/// dropping the last reference (the writer loop and the subscriber keep the object alive until
/// then). Thread-safe: every public member may be called from any thread.
class redis_channel : public std::enable_shared_from_this<redis_channel> {
 public:
  /// Receives each valid message that passed the self-filter, in arrival order, on the
  /// subscriber's strand. It must not block (hand work to the owner's own executor or queue).
  /// An exception it throws is logged and the message is dropped.
  using message_handler = std::function<void(socketio_pubsub::message)>;

  /// Builds a channel over `client` (which the caller starts and stops). Nothing happens on the
  /// network until start(). Throws std::invalid_argument for an invalid opts.host_id or an empty
  /// channel name.
  static std::shared_ptr<redis_channel> create(net::executor ex, std::shared_ptr<redis::client> client,
                                               redis_channel_options opts, message_handler on_message);
  ~redis_channel();
  redis_channel(const redis_channel&) = delete;
  redis_channel& operator=(const redis_channel&) = delete;

  /// Subscribes (SUBSCRIBE channel on a new supervised subscriber, which retries with backoff
  /// forever) and starts the writer loop. Call once at start-up, never lazily (docs/wire.md, "Rules
  /// for a mixed fleet"); later calls do nothing.
  void start();

  /// Stops the subscriber and the writer. Messages still queued are dropped (counted as
  /// publish_failed); a batch in flight completes or times out on its own. Idempotent; does
  /// not wait.
  void stop();

  /// Queues `m` for publication and returns at once. An empty host_id is filled with this
  /// channel's (except in a callback_message, which must carry the origin host's). Returns
  /// socketio_pubsub::error::stopped after stop(), queue_full when a queue limit is reached, the
  /// validate() error for an invalid message, or too_large when its encoding exceeds
  /// limits.max_message_bytes (receivers would drop it). Success means queued, not delivered.
  boost::system::error_code publish(socketio_pubsub::message m);

  /// This process's host id (32 lowercase hex digits).
  const std::string& host_id() const noexcept { return host_id_; }
  /// The channel name.
  const std::string& channel() const noexcept { return opts_.channel; }
  /// The channel `m` is published on: `<channel>#<nsp>#<room>` for an emit to one room while
  /// room-channel mode is on, else channel().
  std::string channel_for(const socketio_pubsub::message& m) const;
  /// True while room-channel mode is on (false when disabled, or after a NOPERM fallback).
  bool room_channels() const noexcept { return room_mode_.load(); }
  /// True while the subscription is live (false before start(), during reconnects, after stop()).
  bool subscribed() const;
  /// Messages waiting in the publish queue (not counting a batch in flight).
  std::size_t queued() const;
  /// Counters since creation.
  redis_channel_stats stats() const noexcept;

 private:
  redis_channel(net::executor ex, std::shared_ptr<redis::client> client, redis_channel_options opts,
                message_handler on_message);

  // "Log at most once per interval", counting what was suppressed. Thread-safe.
  class log_limiter {
   public:
    explicit log_limiter(std::chrono::steady_clock::duration interval) : interval_(interval) {}
    // True when a line may be written now; `suppressed` = calls refused since the last one.
    bool allow(std::uint64_t& suppressed);

   private:
    std::mutex mutex_;
    std::chrono::steady_clock::duration interval_;
    std::chrono::steady_clock::time_point next_{};
    std::uint64_t skipped_ = 0;
  };

  // An encoded message and the channel it goes to.
  struct outgoing {
    std::string channel;
    std::string payload;
  };

  void on_payload(const redis::message& m);
  bool on_subscribe_error(const std::string& error, const std::weak_ptr<redis::subscriber>& sub);
  void fall_back(const std::string& why);
  std::string pattern() const { return opts_.channel + "#*"; }
  bool stopping() const;
  net::awaitable<void> write_loop(std::shared_ptr<redis_channel> self);
  net::awaitable<void> send_batch(std::vector<outgoing> batch);
  void log_drop(const std::string& what, std::uint64_t count, const boost::system::error_code& ec);

  boost::asio::strand<net::executor> strand_;  ///< the writer loop and its timers
  std::shared_ptr<redis::client> client_;
  redis_channel_options opts_;
  message_handler on_message_;
  std::string host_id_;

  mutable std::mutex mutex_;                 ///< guards the fields below; never held across a suspension
  std::shared_ptr<redis::subscriber> sub_;
  std::deque<outgoing> queue_;               ///< encoded payloads, oldest first
  std::size_t queued_bytes_ = 0;
  bool writer_idle_ = false;                 ///< the writer waits on writer_cv_ for work
  bool started_ = false;
  bool stopped_ = false;

  boost::asio::steady_timer writer_cv_;      ///< cancelled to wake the writer (strand only)
  boost::asio::steady_timer retry_timer_;    ///< the pause before a retry (strand only)

  std::atomic<bool> room_mode_{false};       ///< room-channel mode on (cleared by a fallback)
  log_limiter malformed_log_;
  log_limiter drop_log_;
  std::atomic<std::uint64_t> received_{0}, delivered_{0}, filtered_{0}, malformed_{0}, published_{0},
      publish_failed_{0}, rejected_{0}, not_local_{0};
};

}  // namespace owcore::realtime::adapter
