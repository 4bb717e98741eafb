// SQLite through its C API on a small pool of worker threads, one connection each, so a statement
// (or a lock wait up to busy_timeout) never runs on an event-loop thread. docs/database.md.

#include "owcore/db/database.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace owcore::db {
namespace {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

// A move-only callable taking the statement's outcome (std::move_only_function is C++23).
class completion {
 public:
  completion() = default;
  template <class F>
  explicit completion(F f) : impl_(std::make_unique<model<F>>(std::move(f))) {}
  void operator()(result<rows> r) {
    auto impl = std::move(impl_);
    if (impl) impl->call(std::move(r));
  }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual void call(result<rows> r) = 0;
  };
  template <class F>
  struct model final : concept_t {
    explicit model(F f) : f_(std::move(f)) {}
    void call(result<rows> r) override { f_(std::move(r)); }
    F f_;
  };
  std::unique_ptr<concept_t> impl_;
};

struct job {
  const statement* st = nullptr;  // statements are static constants; nullptr = a script
  std::string script;
  params args;
  clock::time_point queued;
  completion done;
};

failure sqlite_failure(sqlite3* db, int rc, std::string_view what) {
  const int primary = rc & 0xff;
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return fail(error::busy, std::move(msg));
  if (primary == SQLITE_INTERRUPT) return fail(error::timeout, std::move(msg));
  if (primary == SQLITE_CANTOPEN || primary == SQLITE_NOTADB || primary == SQLITE_PERM ||
      primary == SQLITE_READONLY || primary == SQLITE_IOERR || primary == SQLITE_CORRUPT)
    return fail(error::unreachable, std::move(msg));
  return fail(error::query_failed, std::move(msg));
}

struct stmt_deleter {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_deleter>;

// One worker's connection and its prepared statements.
class connection {
 public:
  explicit connection(const options& o) : opts_(o) {}
  ~connection() { close(); }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  result<void> ensure_open() {
    if (db_) return {};
    namespace fs = std::filesystem;
    std::error_code fec;
    if (!opts_.sqlite_create && !fs::exists(opts_.sqlite_path, fec))
      return fail(error::unreachable, "no database file at " + opts_.sqlite_path);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (opts_.sqlite_create) flags |= SQLITE_OPEN_CREATE;
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(opts_.sqlite_path.c_str(), &raw, flags, nullptr);
    if (rc != SQLITE_OK) {
      auto f = sqlite_failure(raw, rc, "cannot open " + opts_.sqlite_path);
      sqlite3_close(raw);
      return f;
    }
    db_ = raw;
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_progress_handler(db_, 1000, &connection::on_progress, this);
    const auto& p = opts_.pragmas;
    // busy_timeout first: the journal_mode change below may itself wait for a lock.
    const std::pair<const char*, const std::string*> pragmas[] = {
        {"busy_timeout", &p.busy_timeout}, {"journal_mode", &p.journal_mode},
        {"synchronous", &p.synchronous},   {"cache_size", &p.cache_size},
        {"temp_store", &p.temp_store},     {"mmap_size", &p.mmap_size},
        {"journal_size_limit", &p.journal_size_limit}};
    for (const auto& [name, value] : pragmas) {
      if (value->empty()) continue;
      if (auto r = run_opening_script(std::string("PRAGMA ") + name + "=" + *value); !r) {
        close();
        return r.error();
      }
    }
    // A file that is not a database only says so on its first read.
    if (auto r = run_opening_script("SELECT count(*) FROM sqlite_master"); !r) {
      close();
      return r.error();
    }
    return {};
  }

  // One statement of the opening sequence, retried while the file is locked, for up to
  // busy_timeout. Two processes opening a new file at once both read it, then both ask for the
  // exclusive lock of `journal_mode=WAL`: SQLite answers one of them SQLITE_BUSY at once without
  // calling the busy handler (waiting could deadlock), and that instance failed to start
  // (bench/run_chaos, two instances started together).
  result<void> run_opening_script(const std::string& sql) {
    const auto until = clock::now() + busy_wait();
    auto pause = std::chrono::milliseconds(5);
    for (;;) {
      deadline_ = clock::now() + opts_.statement_timeout;
      auto r = run_script(sql);
      if (r || r.error().code != error::busy || clock::now() + pause > until) return r;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(100));
    }
  }

  std::chrono::milliseconds busy_wait() const {
    try {
      return std::chrono::milliseconds(std::max(0L, std::stol(opts_.pragmas.busy_timeout)));
    } catch (const std::exception&) {
      return std::chrono::milliseconds(0);
    }
  }

  result<rows> run(const statement& st, const params& args, clock::time_point deadline) {
    deadline_ = deadline;
    sqlite3_stmt* s = prepared(st);
    if (!s) return sqlite_failure(db_, sqlite3_errcode(db_), "prepare " + std::string(st.name));
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    const int expected = sqlite3_bind_parameter_count(s);
    if (expected != static_cast<int>(args.size()))
      return fail(error::query_failed, std::string(st.name) + ": expected " + std::to_string(expected) +
                                           " parameters, got " + std::to_string(args.size()));
    for (int i = 0; i < expected; ++i) {
      const auto& a = args[static_cast<std::size_t>(i)];
      int rc = SQLITE_OK;
      if (std::holds_alternative<std::nullptr_t>(a)) rc = sqlite3_bind_null(s, i + 1);
      else if (auto* n = std::get_if<std::int64_t>(&a)) rc = sqlite3_bind_int64(s, i + 1, *n);
      else if (auto* b = std::get_if<bool>(&a)) rc = sqlite3_bind_int(s, i + 1, *b ? 1 : 0);
      else {
        const auto& t = std::get<std::string>(a);
        rc = sqlite3_bind_text64(s, i + 1, t.data(), t.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
      }
      if (rc != SQLITE_OK) return sqlite_failure(db_, rc, "bind " + std::string(st.name));
    }
    const int ncols = sqlite3_column_count(s);
    std::vector<std::optional<std::string>> cells;
    for (;;) {
      const int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        auto f = sqlite_failure(db_, rc, std::string(st.name));
        sqlite3_reset(s);
        return f;
      }
      for (int c = 0; c < ncols; ++c) {
        if (sqlite3_column_type(s, c) == SQLITE_NULL) {
          cells.emplace_back();
          continue;
        }
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
        const int len = sqlite3_column_bytes(s, c);
        cells.emplace_back(std::string(text ? text : "", static_cast<std::size_t>(len)));
      }
    }
    const std::int64_t changed = ncols == 0 ? sqlite3_changes64(db_) : 0;
    sqlite3_reset(s);
    return rows(static_cast<std::size_t>(ncols), std::move(cells), changed);
  }

  result<void> run_script(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      auto f = sqlite_failure(nullptr, rc, "script");
      f.detail = msg;
      return f;
    }
    return {};
  }

  void set_deadline(clock::time_point d) { deadline_ = d; }
  bool is_open() const noexcept { return db_ != nullptr; }

 private:
  static int on_progress(void* self) {
    return clock::now() > static_cast<connection*>(self)->deadline_ ? 1 : 0;
  }

  sqlite3_stmt* prepared(const statement& st) {
    if (auto it = cache_.find(st.name); it != cache_.end()) return it->second.get();
    const std::string sql = st.sqlite_sql.empty() ? sqlite_placeholders(st.sql) : std::string(st.sqlite_sql);
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s,
                           nullptr) != SQLITE_OK)
      return nullptr;
    cache_.emplace(st.name, stmt_ptr(s));
    return s;
  }

  void close() {
    cache_.clear();
    if (db_) sqlite3_close_v2(db_);
    db_ = nullptr;
  }

  const options& opts_;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string_view, stmt_ptr> cache_;
  clock::time_point deadline_{};
};

// The queue and the workers. Owned by the workers and the database object together, so a
// completion that releases the last database reference on a worker never joins that worker.
class pool {
 public:
  explicit pool(options o) : opts_(std::move(o)) {}
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;
  // The last owner may be a coroutine frame that outlived the database object.
  ~pool() {
    stop();
    join();
  }

  void start() {
    // Workers compete with the event-loop threads for cores: at most half the cores (and 4), so a
    // burst of statements cannot keep the loop from running.
    const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
    const std::size_t n = std::clamp<std::size_t>(opts_.pool_size, 1, std::clamp<std::size_t>(cores / 2, 1, 4));
    for (std::size_t i = 0; i < n; ++i) threads_.emplace_back([this] { work(); });
  }

  void submit(job j) {
    {
      std::lock_guard lock(mutex_);
      if (!stopping_ && queue_.size() < opts_.queue_limit) {
        queue_.push_back(std::move(j));
        cv_.notify_one();
        return;
      }
    }
    j.done(stopping_ ? fail(error::stopped) : fail(error::queue_full, "more than " +
                                                                          std::to_string(opts_.queue_limit) +
                                                                          " statements waiting"));
  }

  void stop() {
    std::deque<job> orphans;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
      orphans.swap(queue_);
    }
    cv_.notify_all();
    for (auto& j : orphans) j.done(fail(error::stopped));
  }

  void join() {
    for (auto& t : threads_) {
      if (!t.joinable()) continue;
      if (t.get_id() == std::this_thread::get_id()) t.detach();
      else t.join();
    }
  }

  std::uint64_t run_count() const noexcept { return run_.load(std::memory_order_relaxed); }
  const options& opts() const noexcept { return opts_; }

 private:
  void work() {
    connection conn(opts_);
    for (;;) {
      job j;
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        j = std::move(queue_.front());
        queue_.pop_front();
      }
      const auto now = clock::now();
      if (now - j.queued > opts_.pool_timeout) {
        j.done(fail(error::pool_exhausted, "waited longer than the pool timeout for a worker"));
        continue;
      }
      if (auto r = conn.ensure_open(); !r) {
        j.done(r.error());
        continue;
      }
      run_.fetch_add(1, std::memory_order_relaxed);
      if (j.st) {
        j.done(conn.run(*j.st, j.args, now + opts_.statement_timeout));
      } else {
        conn.set_deadline(now + opts_.statement_timeout);
        auto r = conn.run_script(j.script);
        j.done(r ? result<rows>(rows()) : result<rows>(r.error()));
      }
    }
  }

  options opts_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::atomic<std::uint64_t> run_{0};
};

class sqlite_database final : public database {
 public:
  explicit sqlite_database(options o) : pool_(std::make_shared<pool>(std::move(o))) { pool_->start(); }
  ~sqlite_database() override { pool_->stop(); }

  dialect kind() const noexcept override { return dialect::sqlite; }

  net::awaitable<result<rows>> exec(const statement& st, params args) override {
    job j;
    j.st = &st;
    j.args = std::move(args);
    co_return co_await submit(std::move(j));
  }

  net::awaitable<result<void>> exec_script(std::string sql) override {
    job j;
    j.script = std::move(sql);
    auto r = co_await submit(std::move(j));
    if (!r) co_return r.error();
    co_return result<void>{};
  }

  void stop() override { pool_->stop(); }
  std::uint64_t statements_run() const noexcept override { return pool_->run_count(); }

 private:
  // Hands the job to the workers; the completion resumes the caller on its own executor. A plain
  // function (not a coroutine) with a named initiation: g++ 12 mishandles lambda captures in
  // co_await expressions (a captured shared_ptr was released twice).
  struct initiation {
    std::shared_ptr<pool> p;
    template <class Handler>
    void operator()(Handler handler, job jb) const {
      auto work = asio::make_work_guard(asio::get_associated_executor(handler));
      jb.queued = clock::now();
      jb.done = completion(finisher<Handler>{std::move(handler), std::move(work)});
      p->submit(std::move(jb));
    }
  };
  template <class Handler>
  struct finisher {
    Handler handler;
    asio::executor_work_guard<asio::associated_executor_t<Handler>> work;
    void operator()(result<rows> r) {
      auto ex = work.get_executor();
      asio::post(ex, delivery<Handler>{std::move(handler), std::move(r), std::move(work)});
    }
  };
  template <class Handler>
  struct delivery {
    Handler handler;
    result<rows> r;
    asio::executor_work_guard<asio::associated_executor_t<Handler>> work;
    void operator()() { std::move(handler)(std::move(r)); }
  };

  net::awaitable<result<rows>> submit(job j) {
    return asio::async_initiate<const asio::use_awaitable_t<net::executor>&, void(result<rows>)>(
        initiation{pool_}, asio::use_awaitable_t<net::executor>{}, std::move(j));
  }

  std::shared_ptr<pool> pool_;
};

}  // namespace

net::awaitable<result<std::shared_ptr<database>>> open_sqlite(net::executor, options opts) {
  if (opts.sqlite_path.empty()) co_return fail(error::invalid_url, "no SQLite file path");
  auto db = std::make_shared<sqlite_database>(std::move(opts));
  // Opens a worker's connection and applies the PRAGMAs, so a bad file is reported now.
  static constexpr statement probe{"owcore_probe", "SELECT 1"};
  auto r = co_await db->exec(probe, params{});
  if (!r) co_return r.error();
  co_return std::shared_ptr<database>(std::move(db));
}

}  // namespace owcore::db
