// The PostgreSQL driver: libpq's non-blocking API driven by Asio readiness waits on one strand,
// a bounded pool of lazily opened connections, client-side deadlines (docs/database.md).
#include "owcore/db/database.hpp"
#include "owcore/db/postgres_wire.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <deque>
#include <unordered_set>

namespace owcore::db {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

// Prepared statements cached per connection; past it a statement runs as the unnamed one.
constexpr std::size_t max_prepared = 512;
// Resolved addresses handed to libpq for one host name.
constexpr std::size_t max_addresses = 8;
// The server-side statement_timeout exceeds the client deadline by this much, so the client's
// deadline fires first and the server still ends a query whose client gave up.
constexpr std::chrono::milliseconds server_timeout_margin{1000};

constexpr unsigned oid_unknown = 0;
constexpr unsigned oid_bool = 16;
constexpr unsigned oid_int8 = 20;

using namespace pg;

class pg_connection : public std::enable_shared_from_this<pg_connection> {
 public:
  explicit pg_connection(const net::executor& strand) : sock_(strand), timer_(strand), resolver_(strand) {}
  ~pg_connection() { unwatch(); }
  pg_connection(const pg_connection&) = delete;
  pg_connection& operator=(const pg_connection&) = delete;

  PGconn* get() const noexcept { return conn_.get(); }
  bool ok() const noexcept { return conn_ && PQstatus(conn_.get()) == CONNECTION_OK && !aborted_; }
  std::optional<error> aborted() const noexcept { return aborted_; }

  // Wraps PQsocket() for readiness waits; libpq owns the fd, so it is released, never closed.
  void watch() {
    unwatch();
    const int fd = conn_ ? PQsocket(conn_.get()) : -1;
    if (fd < 0) return;
    error_code ec;
    sock_.assign(fd, ec);
  }
  void unwatch() noexcept {
    if (sock_.is_open()) sock_.release();
  }

  // After `d`, abort(reason) unless disarm() came first.
  void arm(std::chrono::milliseconds d, error reason) {
    const auto gen = ++gen_;
    if (d.count() <= 0) return;
    timer_.expires_after(d);
    timer_.async_wait([self = shared_from_this(), gen, reason](error_code ec) {
      if (!ec && self->gen_ == gen) self->abort(reason);
    });
  }
  void disarm() {
    ++gen_;
    timer_.cancel();
  }

  void abort(error reason) {
    if (!aborted_) aborted_ = reason;
    error_code ignored;
    if (sock_.is_open()) sock_.cancel(ignored);
    resolver_.cancel();
  }

  // Waits until the socket is readable (or writable); false once aborted. Asio's epoll reactor
  // is edge-triggered and libpq need not drain the socket, so readiness is also checked with a
  // zero-timeout poll() after the wait is queued: data that arrived earlier completes it at once.
  net::awaitable<bool> wait(bool for_write) {
    if (aborted_ || !sock_.is_open()) co_return false;
    const int fd = sock_.native_handle();
    const auto type = for_write ? asio::posix::descriptor_base::wait_write : asio::posix::descriptor_base::wait_read;
    co_await asio::async_initiate<decltype(net::use_tuple), void(error_code)>(
        [this, fd, type, for_write](auto handler) {
          sock_.async_wait(type, std::move(handler));
          pollfd p{fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
          if (::poll(&p, 1, 0) > 0) {
            error_code ignored;
            sock_.cancel(ignored);
          }
        },
        net::use_tuple);
    co_return !aborted_;
  }

  conn_ptr conn_;
  std::unordered_set<std::string> prepared_;
  tcp::resolver& resolver() noexcept { return resolver_; }

 private:
  asio::posix::stream_descriptor sock_;
  asio::steady_timer timer_;
  tcp::resolver resolver_;
  std::uint64_t gen_ = 0;
  std::optional<error> aborted_;
};

using conn_sp = std::shared_ptr<pg_connection>;

// What one attempt on one connection produced.
struct outcome {
  result<rows> value = rows{};
  bool reusable = true;  // the connection may go back to the pool
  bool broken = false;   // the connection failed under the statement: retry elsewhere
};

outcome broken_outcome(const pg_connection& c, const std::string& secret, std::string_view what) {
  outcome o;
  o.reusable = false;
  if (auto why = c.aborted()) {
    o.value = fail(*why, *why == error::timeout ? "statement deadline passed; connection dropped" : "");
    return o;
  }
  o.broken = true;
  const char* msg = c.get() ? PQerrorMessage(c.get()) : "";
  o.value = fail(error::connection_lost, std::string(what) + ": " + one_line(msg, secret));
  return o;
}

struct waiter {
  explicit waiter(const net::executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  conn_sp conn;         // handed over by release()
  bool slot = false;    // may open a connection of its own (a pool slot was freed)
  bool stopped = false;
};

class pg_database final : public database, public std::enable_shared_from_this<pg_database> {
 public:
  pg_database(const net::executor& ex, options opts, connect_params params)
      : strand_(net::make_strand(ex)), opts_(std::move(opts)), params_(std::move(params)) {
    opts_.pool_size = std::max<std::size_t>(opts_.pool_size, 1);
  }

  dialect kind() const noexcept override { return dialect::postgresql; }
  std::uint64_t statements_run() const noexcept override { return statements_.load(std::memory_order_relaxed); }

  net::awaitable<result<rows>> exec(const statement& st, params args) override {
    co_return co_await asio::co_spawn(
        strand_, run_exec(shared_from_this(), std::string(st.name), std::string(st.sql), std::move(args)),
        asio::use_awaitable);
  }

  net::awaitable<result<void>> exec_script(std::string sql) override {
    co_return co_await asio::co_spawn(strand_, run_script(shared_from_this(), std::move(sql)), asio::use_awaitable);
  }

  void stop() override {
    asio::post(strand_, [self = shared_from_this()] { self->shutdown(); });
  }

  // Opens the first connection so that configuration errors surface at start-up.
  net::awaitable<result<void>> start() {
    ++open_;
    auto c = co_await connect_one();
    if (!c) {
      --open_;
      co_return c.error();
    }
    std::erase(busy_, *c);
    idle_.push_back(*c);
    co_return result<void>{};
  }

  const net::executor& strand() const noexcept { return strand_; }

 private:
  // `self` keeps the pool alive until the statement is done, whatever the caller does.
  static net::awaitable<result<rows>> run_exec(std::shared_ptr<pg_database> self, std::string name,
                                               std::string sql, params args) {
    co_return co_await self->exec_on_pool(name, sql, args);
  }

  net::awaitable<result<rows>> exec_on_pool(const std::string& name, const std::string& sql, const params& args) {
    failure first;
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto lease = co_await acquire();
      if (!lease) {
        if (attempt == 0 || lease.error().code == make_error_code(error::stopped)) co_return lease.error();
        co_return fail(error::connection_lost, first.detail + "; reconnect failed: " + lease.error().message());
      }
      conn_sp c = *lease;
      statements_.fetch_add(1, std::memory_order_relaxed);
      c->arm(opts_.statement_timeout, error::timeout);
      outcome o = co_await run_prepared(*c, name, sql, args);
      c->disarm();
      release(c, o.reusable);
      if (!o.broken) co_return std::move(o.value);
      first = o.value.error();
      // One broken connection usually means the server restarted: the idle ones are stale too.
      drop_idle();
    }
    co_return first;
  }

  static net::awaitable<result<void>> run_script(std::shared_ptr<pg_database> self, std::string sql) {
    co_return co_await self->script_on_pool(sql);
  }

  net::awaitable<result<void>> script_on_pool(const std::string& sql) {
    auto lease = co_await acquire();
    if (!lease) co_return lease.error();
    conn_sp c = *lease;
    statements_.fetch_add(1, std::memory_order_relaxed);
    c->arm(opts_.statement_timeout, error::timeout);
    outcome o = co_await run_simple(*c, sql);
    c->disarm();
    release(c, o.reusable);
    if (!o.value) co_return o.value.error();
    co_return result<void>{};
  }

  // ---- the pool (all on strand_) ----

  net::awaitable<result<conn_sp>> acquire() {
    if (stopped_) co_return fail(error::stopped);
    while (!idle_.empty()) {
      conn_sp c = std::move(idle_.back());
      idle_.pop_back();
      if (c->ok()) {
        busy_.push_back(c);
        co_return c;
      }
      --open_;
    }
    if (open_ < opts_.pool_size) {
      ++open_;
      co_return co_await open_slot();
    }
    if (waiters_.size() >= opts_.queue_limit)
      co_return fail(error::queue_full, std::to_string(waiters_.size()) + " statements already waiting");
    auto w = std::make_shared<waiter>(strand_);
    w->timer.expires_after(opts_.pool_timeout);
    waiters_.push_back(w);
    co_await w->timer.async_wait(net::use_tuple);
    if (w->conn) co_return std::move(w->conn);
    if (w->slot) co_return co_await open_slot();
    if (w->stopped || stopped_) co_return fail(error::stopped);
    std::erase(waiters_, w);
    co_return fail(error::pool_exhausted,
                   "no connection free within " + std::to_string(opts_.pool_timeout.count()) + " ms");
  }

  // Opens a connection in a slot already counted in open_.
  net::awaitable<result<conn_sp>> open_slot() {
    auto c = co_await connect_one();
    if (c && stopped_) c = fail(error::stopped);
    if (!c) {
      --open_;
      pass_slots();
    }
    co_return c;
  }

  void release(const conn_sp& c, bool reusable) {
    if (stopped_ || !reusable || !c->ok()) {
      std::erase(busy_, c);
      --open_;
      pass_slots();
      return;
    }
    if (!waiters_.empty()) {
      auto w = std::move(waiters_.front());
      waiters_.pop_front();
      w->conn = c;
      w->timer.cancel();
      return;
    }
    std::erase(busy_, c);
    idle_.push_back(c);
  }

  void pass_slots() {
    while (!stopped_ && !waiters_.empty() && open_ < opts_.pool_size) {
      auto w = std::move(waiters_.front());
      waiters_.pop_front();
      w->slot = true;
      ++open_;
      w->timer.cancel();
    }
  }

  void drop_idle() {
    open_ -= idle_.size();
    idle_.clear();
    pass_slots();
  }

  void shutdown() {
    if (stopped_) return;
    stopped_ = true;
    for (auto& w : waiters_) {
      w->stopped = true;
      w->timer.cancel();
    }
    waiters_.clear();
    open_ -= idle_.size();
    idle_.clear();
    for (auto& c : busy_) c->abort(error::stopped);
  }

  // ---- one connection ----

  net::awaitable<result<conn_sp>> connect_one() {
    auto c = std::make_shared<pg_connection>(strand_);
    busy_.push_back(c);
    c->arm(opts_.connect_timeout, error::timeout);
    auto r = co_await establish(*c);
    c->disarm();
    if (!r) {
      std::erase(busy_, c);
      co_return r.error();
    }
    co_return c;
  }

  net::awaitable<result<void>> establish(pg_connection& c) {
    std::vector<const char*> keys;
    std::vector<const char*> values;
    for (std::size_t i = 0; i < params_.keys.size(); ++i) {
      keys.push_back(params_.keys[i].c_str());
      values.push_back(params_.values[i].c_str());
    }
    std::string hosts;
    std::string addrs;
    if (!params_.resolve_host.empty()) {
      auto [ec, found] = co_await c.resolver().async_resolve(params_.resolve_host, "", net::use_tuple);
      if (c.aborted()) co_return fail(*c.aborted(), "resolving " + params_.resolve_host + " timed out");
      if (ec) co_return fail(error::unreachable, "cannot resolve " + params_.resolve_host + ": " + ec.message());
      std::size_t n = 0;
      for (const auto& e : found) {
        if (n++ == max_addresses) break;
        hosts += (hosts.empty() ? "" : ",") + params_.resolve_host;
        addrs += (addrs.empty() ? "" : ",") + e.endpoint().address().to_string();
      }
      for (std::size_t i = 0; i < keys.size(); ++i)
        if (std::string_view(keys[i]) == "host") values[i] = hosts.c_str();
      keys.push_back("hostaddr");
      values.push_back(addrs.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    c.conn_.reset(PQconnectStartParams(keys.data(), values.data(), 0));
    if (!c.get()) co_return fail(error::unreachable, "libpq: out of memory");
    auto poll = PGRES_POLLING_WRITING;
    if (PQstatus(c.get()) == CONNECTION_BAD) poll = PGRES_POLLING_FAILED;
    while (poll != PGRES_POLLING_OK) {
      if (poll == PGRES_POLLING_FAILED) {
        const std::string msg = one_line(PQerrorMessage(c.get()), params_.password);
        co_return fail(classify_connect_failure(msg), msg);
      }
      // libpq may close and reopen its socket between steps (next address, SSL fallback).
      c.watch();
      const bool ready = co_await c.wait(poll == PGRES_POLLING_WRITING);
      if (!ready) {
        if (auto why = c.aborted())
          co_return fail(*why, *why == error::timeout
                                   ? "connect timed out after " + std::to_string(opts_.connect_timeout.count()) + " ms"
                                   : std::string());
        co_return fail(error::unreachable, "libpq has no socket: " + one_line(PQerrorMessage(c.get()), params_.password));
      }
      poll = PQconnectPoll(c.get());
    }
    c.watch();
    if (PQsetnonblocking(c.get(), 1) != 0)
      co_return fail(error::unreachable, one_line(PQerrorMessage(c.get()), params_.password));
    std::string setup;
    if (!opts_.schema.empty()) {
      char* quoted = PQescapeIdentifier(c.get(), opts_.schema.data(), opts_.schema.size());
      if (!quoted) co_return fail(error::query_failed, one_line(PQerrorMessage(c.get()), params_.password));
      setup = std::string("SET search_path TO ") + quoted + ";";
      PQfreemem(quoted);
    }
    // JIT compilation pays off for long analytic queries, never for these short OLTP statements,
    // yet the planner's estimates trip jit_above_cost on the standard-channels query (a hashed
    // subplan per channel row): measured 600 ms of JIT for 6 ms of execution, per call, since a
    // prepared statement's JIT code is not reused. The setting exists from PostgreSQL 11.
    if (PQserverVersion(c.get()) >= 110000) setup += "SET jit = off;";
    if (opts_.statement_timeout.count() > 0)
      setup += "SET statement_timeout = " + std::to_string((opts_.statement_timeout + server_timeout_margin).count());
    if (!setup.empty()) {
      auto o = co_await run_simple(c, setup);
      if (!o.value) {
        failure f = o.value.error();
        if (f.code == make_error_code(error::connection_lost)) f.code = make_error_code(error::unreachable);
        f.detail = "connection setup: " + f.detail;
        co_return f;
      }
    }
    co_return result<void>{};
  }

  // Sends what libpq has buffered, waiting for writability when the kernel buffer is full.
  net::awaitable<bool> flush(pg_connection& c) {
    for (;;) {
      const int f = PQflush(c.get());
      if (f == 0) co_return true;
      if (f < 0) co_return false;
      if (!co_await c.wait(true)) co_return false;
      if (!PQconsumeInput(c.get())) co_return false;
    }
  }

  // The next result, waiting for input as needed; null with `failed` on a broken or aborted
  // connection, null alone at the end of a command's results.
  net::awaitable<result_ptr> next_result(pg_connection& c, bool& failed) {
    while (PQisBusy(c.get())) {
      // co_await stays out of || and &&: g++ 12 miscompiles it there.
      const bool ready = co_await c.wait(false);
      if (!ready || !PQconsumeInput(c.get())) {
        failed = true;
        co_return nullptr;
      }
    }
    co_return result_ptr(PQgetResult(c.get()));
  }

  // Prepare (first use on this connection) and execute in one pipeline, one round trip.
  net::awaitable<outcome> run_prepared(pg_connection& c, const std::string& name, const std::string& sql,
                                       const params& args) {
    PGconn* pc = c.get();
    if (!c.ok()) co_return broken_outcome(c, params_.password, "connection not usable");
    const bool prepare = !c.prepared_.contains(name);
    const bool unnamed = prepare && c.prepared_.size() >= max_prepared;
    const char* stmt = unnamed ? "" : name.c_str();

    std::vector<std::string> text(args.size());
    std::vector<const char*> values(args.size());
    std::vector<unsigned> types(args.size(), oid_unknown);
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (const auto* s = std::get_if<std::string>(&args[i])) {
        values[i] = s->c_str();
      } else if (const auto* n = std::get_if<std::int64_t>(&args[i])) {
        text[i] = std::to_string(*n);
        values[i] = text[i].c_str();
        types[i] = oid_int8;
      } else if (const auto* b = std::get_if<bool>(&args[i])) {
        values[i] = *b ? "t" : "f";
        types[i] = oid_bool;
      }
    }
    const int n = static_cast<int>(args.size());
    if (!PQenterPipelineMode(pc)) co_return broken_outcome(c, params_.password, "pipeline mode");
    if ((prepare && !PQsendPrepare(pc, stmt, sql.c_str(), n, types.data())) ||
        !PQsendQueryPrepared(pc, stmt, n, values.data(), nullptr, nullptr, 0) || !PQpipelineSync(pc))
      co_return broken_outcome(c, params_.password, "sending the statement");
    const bool sent = co_await flush(c);
    if (!sent) co_return broken_outcome(c, params_.password, "sending the statement");

    // Results arrive per command, each list ended by a null: [prepare], execute, then the sync.
    const std::size_t exec_index = prepare ? 1 : 0;
    std::size_t index = 0;
    std::optional<rows> got;
    first_error err;
    for (;;) {
      bool failed = false;
      result_ptr r = co_await next_result(c, failed);
      if (failed) co_return broken_outcome(c, params_.password, "reading the result");
      if (!r) {
        // libpq has no more commands queued yet no sync arrived: treat the session as unusable.
        if (++index > exec_index + 1) co_return broken_outcome(c, params_.password, "pipeline out of step");
        continue;
      }
      const auto status = PQresultStatus(r.get());
      if (status == PGRES_PIPELINE_SYNC) break;
      if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
        if (index == exec_index)
          got = to_rows(r.get());
        else if (!unnamed)
          c.prepared_.insert(name);
      } else if (status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR) {
        err.note(r.get(), params_.password);
      } else if (status != PGRES_PIPELINE_ABORTED) {
        co_return broken_outcome(c, params_.password, std::string("unexpected result ") + PQresStatus(status));
      }
    }
    outcome o;
    o.reusable = PQexitPipelineMode(pc) == 1;
    if (!err.empty()) {
      if (err.lost(pc)) {
        o.reusable = false;
        o.broken = true;
      }
      o.value = err.as_failure(pc);
      co_return o;
    }
    if (!got) co_return broken_outcome(c, params_.password, "no result for the statement");
    o.value = std::move(*got);
    co_return o;
  }

  // A simple query (several statements allowed); the first error wins, all results are consumed.
  net::awaitable<outcome> run_simple(pg_connection& c, const std::string& sql) {
    PGconn* pc = c.get();
    if (!c.ok()) co_return broken_outcome(c, params_.password, "connection not usable");
    if (!PQsendQuery(pc, sql.c_str())) co_return broken_outcome(c, params_.password, "sending the script");
    const bool sent = co_await flush(c);
    if (!sent) co_return broken_outcome(c, params_.password, "sending the script");
    first_error err;
    for (;;) {
      bool failed = false;
      result_ptr r = co_await next_result(c, failed);
      if (failed) co_return broken_outcome(c, params_.password, "reading the result");
      if (!r) break;
      const auto status = PQresultStatus(r.get());
      if (status == PGRES_FATAL_ERROR) {
        err.note(r.get(), params_.password);
      } else if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
        // COPY would keep the session busy forever; drop the connection instead.
        outcome o;
        o.reusable = false;
        o.value = fail(error::query_failed, "COPY is not supported in a script");
        co_return o;
      }
    }
    outcome o;
    if (!err.empty()) {
      if (err.lost(pc)) o.reusable = false;
      o.value = err.as_failure(pc);
    }
    co_return o;
  }

  net::executor strand_;
  options opts_;
  connect_params params_;
  std::atomic<std::uint64_t> statements_{0};
  bool stopped_ = false;
  std::size_t open_ = 0;  // connections idle, busy or being opened
  std::vector<conn_sp> idle_;
  std::vector<conn_sp> busy_;  // in use or connecting, for stop()
  std::deque<std::shared_ptr<waiter>> waiters_;
};

}  // namespace

net::awaitable<result<std::shared_ptr<database>>> open_postgres(net::executor ex, options opts) {
  auto parsed = parse_conninfo(opts.conninfo);
  if (!parsed) co_return parsed.error();
  auto db = std::make_shared<pg_database>(ex, std::move(opts), std::move(*parsed));
  auto started = co_await asio::co_spawn(db->strand(), db->start(), asio::use_awaitable);
  if (!started) {
    db->stop();
    co_return started.error();
  }
  co_return std::shared_ptr<database>(std::move(db));
}

}  // namespace owcore::db
