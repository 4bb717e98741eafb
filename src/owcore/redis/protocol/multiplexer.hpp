#pragma once
// The multiplexer of one Redis connection, sans-io (docs/redis.md): the requests waiting to be
// written, the requests written and waiting for replies, what to write next, which request a
// reply answers, and what happens to every request when the connection drops. The shell
// (io/connection) only moves the bytes prepare_write() returns and the replies it parses.
//
// The never-re-send rule lives here, in on_connection_lost(): a request that was written (or was
// being written) when the connection dropped is sent again only if its retry_policy is
// `idempotent` (at most max_attempts writes in all); every other written request completes with
// error::unknown_outcome, because it may or may not have run. Requests never written stay queued
// for the next connection.

#include "owcore/redis/protocol/request.hpp"
#include "owcore/redis/protocol/resp.hpp"
#include "owcore/redis/protocol/ring.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace owcore::redis {

/// Whoever waits for a request's outcome. complete() is called exactly once, from inside the
/// multiplexer call that decided the outcome; it must not call back into the multiplexer.
struct request_sink {
  virtual ~request_sink() = default;
  virtual void complete(boost::system::error_code ec, response replies) = 0;
  /// The success of a one-command request: its only reply. The default hands it to complete()
  /// as a one-element response; sinks that want no response vector override it.
  virtual void complete_one(reply&& r) {
    response replies;
    replies.push_back(std::move(r));
    complete({}, std::move(replies));
  }
};

/// Limits of one multiplexer.
struct multiplexer_options {
  std::size_t max_queued = 100000;       ///< queued + in flight; beyond: error::queue_full
  std::size_t max_write_batch = 1 << 20; ///< bytes prepare_write() packs (at least one request)
  unsigned max_attempts = 3;             ///< writes of one idempotent request, in all
};

/// The decision table of a connection's requests. Not thread-safe: one per connection, used from
/// the connection's strand. Time is passed in (`now`), never read, so tests drive it.
class multiplexer {
 public:
  using clock = std::chrono::steady_clock;

  explicit multiplexer(multiplexer_options opts = {});
  ~multiplexer();
  multiplexer(const multiplexer&) = delete;
  multiplexer& operator=(const multiplexer&) = delete;

  /// Queues `req` for `sink`. Completes it at once (through the sink) when the multiplexer is
  /// stopped (error::stopped), when `req` is empty (no error, no replies) or when the queue is at
  /// max_queued (error::queue_full). Returns true when the queue was empty before: the writer
  /// must be woken.
  bool add(request req, std::uint64_t id, std::unique_ptr<request_sink> sink,
           clock::time_point now);

  /// Queues one command given as views (command_view: nothing copied, the views must outlive the
  /// request); otherwise as add(request). Its success completes through sink->complete_one().
  bool add(command_view cmd, std::uint64_t id, std::unique_ptr<request_sink> sink,
           clock::time_point now);

  /// Queues a health-check PING nobody waits for, unless one is queued or in flight. Returns true
  /// when it was queued (wake the writer).
  bool add_ping(clock::time_point now);

  /// Completes request `id` with `why` (the shell passes operation_aborted). Not yet written: it
  /// is forgotten. Written: it stays in flight without a sink, so its reply is consumed in order.
  /// Returns false when no such request is pending.
  bool cancel(std::uint64_t id, boost::system::error_code why);

  /// What to write next: every queued request, oldest first, up to max_write_batch bytes (at least
  /// one request), encoded into one buffer. Those requests move to in flight and count one
  /// attempt. An empty view means there is nothing to write. The view stays valid until the next
  /// call of prepare_write(); call commit_write() once it is written.
  std::string_view prepare_write(clock::time_point now);

  /// The buffer of the last prepare_write() was written; `now` starts its reply deadline.
  void commit_write(clock::time_point now);

  /// What on_reply() did with a reply.
  enum class reply_result {
    consumed,     ///< added to the oldest in-flight request, which needs more replies
    completed,    ///< it was that request's last reply: the request is complete
    unsolicited,  ///< no request is in flight: a push, or a protocol violation for this shell
  };

  /// Matches one reply to the oldest in-flight request (replies come in request order).
  reply_result on_reply(reply&& r);

  /// Counts of what on_connection_lost() did.
  struct lost_summary {
    std::size_t requeued = 0;         ///< idempotent, under max_attempts: will be written again
    std::size_t unknown_outcome = 0;  ///< completed with error::unknown_outcome
    std::size_t dropped = 0;          ///< cancelled or internal PINGs: nobody waits
  };

  /// The connection dropped. Every in-flight request (written, or in a buffer being written)
  /// follows its retry policy: `idempotent` and under max_attempts goes back to the head of the
  /// queue (oldest first, so a pipeline keeps its order) with its partial replies discarded;
  /// anything else completes with error::unknown_outcome. Queued requests stay queued.
  lost_summary on_connection_lost();

  /// Stops for good: every queued request completes with error::stopped, every in-flight one with
  /// error::unknown_outcome, and later add() calls complete with error::stopped.
  void stop();

  /// Completes, with `why` (the shell passes net::error::timeout), every queued request that has
  /// waited at least `timeout` since add(). In-flight requests are not touched. Returns how many.
  std::size_t expire_queued(clock::time_point now, clock::duration timeout,
                            boost::system::error_code why);

  /// Counters for benchmarks and metrics: buffers committed (one per write), and the commands
  /// they carried. Their ratio shows how many queued requests shared one write.
  std::uint64_t writes() const noexcept { return writes_; }
  std::uint64_t commands_written() const noexcept { return commands_written_; }

  std::size_t queued() const noexcept { return queued_.size(); }
  std::size_t in_flight() const noexcept { return in_flight_.size(); }
  bool idle() const noexcept { return queued_.empty() && in_flight_.empty(); }
  bool stopped() const noexcept { return stopped_; }
  /// When the oldest in-flight request was written (its reply deadline runs from there); nullopt
  /// when nothing written is waiting.
  std::optional<clock::time_point> oldest_written() const;

 private:
  struct entry {
    request req;        // empty for a view entry
    command_view view;  // non-empty args: a view entry (one command)
    retry_policy policy = retry_policy::never_after_write;
    response replies;
    std::unique_ptr<request_sink> sink;  // null: cancelled, or an internal PING
    std::uint64_t id = 0;
    std::size_t expected = 0;
    unsigned attempts = 0;
    bool internal = false;
    clock::time_point enqueued;
    clock::time_point written_at;
  };

  static void finish(entry& e, boost::system::error_code ec);
  bool admit(request_sink& sink, bool empty);
  bool enqueue(entry&& e);

  multiplexer_options opts_;
  detail::ring<entry> queued_;
  detail::ring<entry> in_flight_;
  std::string write_buf_;
  std::size_t staged_ = 0;  // entries at the tail of in_flight_ from the last prepare_write()
  std::size_t staged_commands_ = 0;
  std::uint64_t writes_ = 0;
  std::uint64_t commands_written_ = 0;
  bool stopped_ = false;
  bool ping_pending_ = false;
};

}  // namespace owcore::redis
