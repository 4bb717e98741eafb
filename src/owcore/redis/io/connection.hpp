#pragma once
// One multiplexed connection to one Redis node: a thin Asio shell (docs/redis.md) over
// protocol/multiplexer (which request a reply answers; what happens to each request when the
// connection drops) and io/supervisor (resolve, connect, set-up, reconnect with backoff). The
// shell only moves bytes: a writer writes what the multiplexer prepares, a reader feeds replies
// to it, and a watchdog enforces the reply deadline and the health-check PING.

#include "owcore/net/executor.hpp"
#include "owcore/redis/error.hpp"
#include "owcore/redis/io/recycler.hpp"
#include "owcore/redis/io/supervisor.hpp"
#include "owcore/redis/protocol/address.hpp"
#include "owcore/redis/protocol/backoff.hpp"
#include "owcore/redis/protocol/multiplexer.hpp"
#include "owcore/redis/protocol/request.hpp"
#include "owcore/redis/protocol/resp.hpp"
#include "owcore/redis/url.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/defer.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/error_code.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace spdlog {
class logger;
}

namespace owcore::redis {

/// Options of one node connection. Defaults are safe for production.
struct connection_options {
  url_config node;                 ///< address (unless `resolve` is set), TLS, AUTH, db, name
  address_resolver resolve;        ///< when set, asked for the address before every connect
  bool require_master = false;     ///< check ROLE after connecting; a replica is a failed connect
  bool select_db = true;           ///< SELECT node.db (Cluster: false)
  std::chrono::steady_clock::duration connect_timeout = std::chrono::seconds(5);
  /// Longest wait for a reply once a request is written (REDIS_SOCKET_TIMEOUT); the connection is
  /// considered dead after it. Also bounds the set-up.
  std::chrono::steady_clock::duration reply_timeout = std::chrono::seconds(30);
  /// Longest a request may wait in the queue for a connection (e.g. during a failover).
  std::chrono::steady_clock::duration queue_timeout = std::chrono::seconds(30);
  /// PING when nothing was received for this long (REDIS_HEALTH_CHECK_INTERVAL); 0 = off.
  std::chrono::steady_clock::duration health_check_interval = std::chrono::seconds(0);
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_cap{5000};
  std::size_t max_queued = 100000;          ///< queued + in-flight requests; beyond: queue_full
  std::size_t max_write_batch = 1 << 20;    ///< bytes packed into one write
  std::size_t max_reply_bytes = reply_parser::default_max_buffered;
  std::shared_ptr<spdlog::logger> log;      ///< null = silent
  std::string log_name = "redis";           ///< prefix of log lines ("app", "ws", node address)
  client_metrics* metrics = nullptr;        ///< the owning client's counters (reconnects); may be null
};

/// A connection's observable state.
enum class connection_state { connecting, ready, backing_off, stopped };

/// One multiplexed connection. Create with `make_shared`, call `start()`, then `exec` from any
/// thread or executor. All internal state lives on the connection's strand.
///
/// Delivery contract (protocol/multiplexer.hpp): a request is written at most once unless it is
/// `idempotent()`. If the connection drops after writing a non-idempotent request, the request
/// fails with error::unknown_outcome. Requests not yet written wait (up to queue_timeout) for the
/// next connection. Cancelling an `exec` (e.g. with a per-operation cancellation slot) completes
/// it with operation_aborted; a request already written still has its reply consumed and
/// discarded.
class connection : public std::enable_shared_from_this<connection>, private io::supervised {
 public:
  connection(net::executor ex, connection_options opts);
  ~connection() override;

  /// Starts the run coroutine. Call once.
  void start();

  /// Stops: closes the socket, fails every pending request (queued: error::stopped; written:
  /// error::unknown_outcome). Thread-safe, idempotent. The run coroutine ends soon after.
  void stop();

  /// Closes the current socket and reconnects (re-resolving the address) without waiting for an
  /// error: used on Sentinel `+switch-master` and READONLY. Thread-safe.
  void reconnect_now();

  /// Submits `req` and completes with its replies (one per command) or an error. The
  /// completion runs on the handler's associated executor (the calling coroutine's).
  template <class CompletionToken>
  auto async_exec(request req, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken,
                                       void(boost::system::error_code, response)>(
        [self = shared_from_this()](auto handler, request r) {
          const auto id = next_request_id();
          auto slot = boost::asio::get_associated_cancellation_slot(handler);
          if (slot.is_connected()) {
            slot.assign([weak = std::weak_ptr<connection>(self), id](boost::asio::cancellation_type) {
              if (auto c = weak.lock()) c->cancel(id);
            });
          }
          using impl = completion_impl<decltype(handler)>;
          self->submit(std::move(r), {}, id,
                       std::make_unique<impl>(std::move(handler), self->strand_));
        },
        token, std::move(req));
  }

  /// The allocation-free form for one command (command_view: nothing is copied, `cmd`'s views
  /// and `out` must stay valid until completion). Completes with the transport error only; the
  /// reply (a server error reply included) is assigned to `out`. In steady state no heap
  /// allocation is made per command (docs/redis.md "Performance").
  template <class CompletionToken>
  auto async_exec_view(command_view cmd, reply& out, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code)>(
        [self = shared_from_this(), &out](auto handler, command_view c) {
          const auto id = next_request_id();
          auto slot = boost::asio::get_associated_cancellation_slot(handler);
          if (slot.is_connected()) {
            slot.template emplace<canceller>(std::weak_ptr<connection>(self), id);
          }
          using impl = view_completion<decltype(handler)>;
          self->submit(request{}, c, id,
                       std::make_unique<impl>(std::move(handler), self->strand_, out));
        },
        token, cmd);
  }

  /// What this connection wrote so far: write operations and the commands they carried
  /// (relaxed counters, thread-safe; for benchmarks and metrics).
  std::uint64_t writes() const noexcept { return writes_.load(std::memory_order_relaxed); }
  std::uint64_t commands_written() const noexcept {
    return commands_written_.load(std::memory_order_relaxed);
  }

  /// Coroutine form of async_exec that never throws.
  net::awaitable<std::pair<boost::system::error_code, response>> exec(request req);

  /// Current state (a snapshot; thread-safe).
  connection_state state() const noexcept { return state_.load(); }

  /// The address of the current or last connection attempt, e.g. "127.0.0.1:6379" (thread-safe).
  std::string peer() const { return sup_.peer(); }

  /// Number of successful connects so far (1 after the first). Thread-safe.
  std::uint64_t connects() const noexcept { return sup_.connects(); }

 private:
  // The caller's handler, type-erased as the multiplexer's request_sink. (Asio 1.81's
  // any_completion_handler recurses without end when moved, so owcore erases the type itself.)
  // Its memory is recycled (io/recycler). The caller is resumed inline when the completing thread
  // already runs the caller's io_context (its executor would run it here anyway, and this saves
  // an Asio operation and its allocation per request); otherwise the resumption is deferred to
  // the caller's executor. `complete` is called from inside the multiplexer: a resumed caller
  // only reaches the connection through submit()/cancel(), which never re-enter it.
  template <class Handler>
  struct completion_base : request_sink, io::recycled {
    completion_base(Handler h, const net::executor& fallback)
        : handler(std::move(h)),
          caller_ex(boost::asio::get_associated_executor(handler, fallback)),
          work(boost::asio::make_work_guard(caller_ex)) {}
    bool inline_ok() const noexcept {
      using ex_t = boost::asio::associated_executor_t<Handler, net::executor>;
      if constexpr (std::is_same_v<ex_t, net::executor>) {
        const auto* io = caller_ex.template target<boost::asio::io_context::executor_type>();
        return io && io->running_in_this_thread();
      } else if constexpr (std::is_same_v<ex_t, boost::asio::io_context::executor_type>) {
        return caller_ex.running_in_this_thread();
      } else {
        return false;
      }
    }
    template <class... Args>
    void resume(Args&&... args) {
      if (inline_ok()) {
        std::move(handler)(std::forward<Args>(args)...);
      } else {
        boost::asio::defer(work.get_executor(), boost::asio::bind_allocator(
                                                    io::recycling_allocator<void>(),
                                                    [h = std::move(handler),
                                                     ... a = std::forward<Args>(args)]() mutable {
                                                      std::move(h)(std::move(a)...);
                                                    }));
      }
      work.reset();
    }
    Handler handler;
    boost::asio::associated_executor_t<Handler, net::executor> caller_ex;
    boost::asio::executor_work_guard<boost::asio::associated_executor_t<Handler, net::executor>> work;
  };

  // The waiter of async_exec.
  template <class Handler>
  struct completion_impl final : completion_base<Handler> {
    using completion_base<Handler>::completion_base;
    void complete(boost::system::error_code ec, response r) override {
      this->resume(ec, std::move(r));
    }
  };

  // The waiter of async_exec_view: the reply is moved into the caller's `out`.
  template <class Handler>
  struct view_completion final : completion_base<Handler> {
    view_completion(Handler h, const net::executor& fallback, reply& o)
        : completion_base<Handler>(std::move(h), fallback), out(&o) {}
    void complete(boost::system::error_code ec, response r) override {
      if (!ec && r.size() == 1) *out = std::move(r.front());
      this->resume(ec);
    }
    void complete_one(reply&& r) override {
      *out = std::move(r);
      this->resume(boost::system::error_code{});
    }
    reply* out;
  };

  // Cancellation slot handler (emplaced, so the slot reuses its memory).
  struct canceller {
    std::weak_ptr<connection> conn;
    std::uint64_t id;
    canceller(std::weak_ptr<connection> c, std::uint64_t i) : conn(std::move(c)), id(i) {}
    void operator()(boost::asio::cancellation_type) const {
      if (auto c = conn.lock()) c->cancel(id);
    }
  };

  // A request handed over by a caller, waiting in the inbox for the strand.
  struct submission {
    request req;
    command_view view;  // non-empty args: a view command, `req` unused
    std::uint64_t id = 0;
    std::unique_ptr<request_sink> sink;
  };

  static std::uint64_t next_request_id() noexcept;
  void submit(request req, command_view view, std::uint64_t id, std::unique_ptr<request_sink> done);
  void drain_inbox();
  void cancel(std::uint64_t id);
  net::awaitable<void> run();
  net::awaitable<boost::system::error_code> serve() override;
  void on_attempt() override;
  void on_connect_failed(const error_info& why) override;
  void on_connected() override;
  void on_lost(boost::system::error_code why) override;
  net::awaitable<boost::system::error_code> reader();
  net::awaitable<boost::system::error_code> writer();
  net::awaitable<boost::system::error_code> watchdog();

  // net::make_strand: on an io_context the strand is stored inline in the any_io_executor, and
  // Asio's per-handler "may it run inline?" query on the strand's inner executor needs no heap
  // allocation (it does on a strand over any_io_executor; docs/redis.md "Performance").
  net::executor strand_;
  connection_options opts_;
  io::supervisor sup_;
  multiplexer mux_;
  boost::asio::steady_timer writer_cv_;  ///< cancelled to wake the writer
  // Callers append here and post one drain per batch instead of one handler per request.
  std::mutex inbox_mutex_;
  std::vector<submission> inbox_;     ///< guarded by inbox_mutex_
  std::vector<submission> draining_;  ///< strand only
  std::atomic<std::uint64_t> writes_{0};
  std::atomic<std::uint64_t> commands_written_{0};
  std::atomic<connection_state> state_{connection_state::connecting};
  bool stopped_ = false;
};

}  // namespace owcore::redis
