// Redis client throughput: `--callers` coroutines each loop one command per request through one
// client (`--api view`: client::exec_view over views; `--api request`: exec_one over a built
// request) for a bounded time, then one line of JSON with ops/s, errors, latency percentiles and,
// over a steady-state window (the middle 70% of the run), the client's own CPU per command
// (getrusage of this process; Redis is another process), heap allocations per command (every one
// of the process, counted by counting_allocator.cpp) and writes per command (the connections'
// counters). bench/run_redis_bench runs it beside redis-benchmark.
#include "counting_allocator.hpp"
#include "owcore/redis/client.hpp"

#include <dlfcn.h>
#include <sys/resource.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <future>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace net = owcore::net;
namespace redis = owcore::redis;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

enum class op_kind { get, set, publish };
enum class api_kind { view, request };

struct bench_options {
  std::string url = "redis://127.0.0.1:6379/0";
  int callers = 50;
  double seconds = 5.0;
  op_kind op = op_kind::get;
  api_kind api = api_kind::view;
  bool cluster = false;  // --url is a Cluster seed
  bool spread = false;   // caller i uses key "<key>:<i>" (keys across slots)
  int threads = 1;
  std::size_t value_size = 3;
  // redis-benchmark's defaults: without -r the key is literally "key:__rand_int__", values "xxx".
  std::string key = "key:__rand_int__";
  std::string channel = "bench:chan";
};

constexpr std::string_view usage =
    "usage: owcore_redis_bench --url redis://HOST:PORT/DB --op get|set|publish\n"
    "                          [--callers 50] [--seconds 5] [--threads 1] [--value-size 3]\n"
    "                          [--api view|request] [--cluster 0|1] [--spread 0|1]\n"
    "                          [--key key:__rand_int__] [--channel bench:chan]\n";

std::string_view op_name(op_kind k) {
  switch (k) {
    case op_kind::get: return "get";
    case op_kind::set: return "set";
    case op_kind::publish: return "publish";
  }
  return "?";
}

// Returns the options, or an error message.
std::variant<bench_options, std::string> parse_args(int argc, char** argv) {
  bench_options o;
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto flag = args[i];
    if (flag == "--help" || flag == "-h") return std::string{};
    if (i + 1 >= args.size()) return "missing value after " + std::string(flag);
    const std::string value(args[++i]);
    try {
      if (flag == "--url") {
        o.url = value;
      } else if (flag == "--callers") {
        o.callers = std::stoi(value);
      } else if (flag == "--seconds") {
        o.seconds = std::stod(value);
      } else if (flag == "--threads") {
        o.threads = std::stoi(value);
      } else if (flag == "--value-size") {
        o.value_size = static_cast<std::size_t>(std::stoul(value));
      } else if (flag == "--key") {
        o.key = value;
      } else if (flag == "--api") {
        if (value == "view") o.api = api_kind::view;
        else if (value == "request") o.api = api_kind::request;
        else return "unknown --api '" + value + "' (view or request)";
      } else if (flag == "--cluster") {
        o.cluster = value == "1";
      } else if (flag == "--spread") {
        o.spread = value == "1";
      } else if (flag == "--channel") {
        o.channel = value;
      } else if (flag == "--op") {
        if (value == "get") o.op = op_kind::get;
        else if (value == "set") o.op = op_kind::set;
        else if (value == "publish") o.op = op_kind::publish;
        else return "unknown --op '" + value + "' (get, set or publish)";
      } else {
        return "unknown option " + std::string(flag);
      }
    } catch (const std::exception&) {
      return "bad value '" + value + "' for " + std::string(flag);
    }
  }
  if (o.callers < 1 || o.callers > 10000) return std::string("--callers must be 1..10000");
  if (!(o.seconds > 0.0 && o.seconds <= 3600.0)) return std::string("--seconds must be in (0, 3600]");
  if (o.threads < 1 || o.threads > 64) return std::string("--threads must be 1..64");
  if (o.value_size > (64u << 20)) return std::string("--value-size must be at most 64 MiB");
  return o;
}

// What every caller shares (read-only once the run starts), and each caller's op counter.
struct alignas(64) counter {
  std::atomic<std::uint64_t> ops{0};
};

struct plan {
  op_kind op;
  api_kind api;
  bool spread;
  std::string key;
  std::string channel;
  std::string value;
  clock_type::time_point end;
  std::vector<counter> done;  // one per caller, read by the main thread for the window
  explicit plan(std::size_t callers) : done(callers) {}
  std::string key_of(std::size_t caller) const {
    return spread ? key + ":" + std::to_string(caller) : key;
  }
};

redis::request make_request(const plan& p, const std::string& key) {
  redis::request r;
  switch (p.op) {
    case op_kind::get: r.push("GET", redis::key(key)).idempotent(); break;
    case op_kind::set: r.push("SET", redis::key(key), p.value).idempotent(); break;
    case op_kind::publish: r.push("PUBLISH", p.channel, p.value); break;
  }
  return r;
}

// Latencies are sampled (every 8th op, at most 2^17 samples per caller) to bound memory.
constexpr std::uint64_t sample_every = 8;
constexpr std::size_t max_samples_per_caller = std::size_t{1} << 17;

struct caller_result {
  std::uint64_t ops = 0;
  std::uint64_t errors = 0;
  std::string first_error;
  std::vector<std::uint32_t> latency_ns;
};

net::awaitable<caller_result> run_caller(std::shared_ptr<redis::client> c, std::shared_ptr<plan> p,
                                         std::size_t index) {
  caller_result out;
  out.latency_ns.reserve(max_samples_per_caller);
  const std::string key = p->key_of(index);
  // The views of the view API: built once, valid for the whole loop.
  std::array<std::string_view, 3> args{};
  redis::command_view cmd;
  switch (p->op) {
    case op_kind::get:
      args = {"GET", key, {}};
      cmd = {{args.data(), 2}, 1, redis::retry_policy::idempotent};
      break;
    case op_kind::set:
      args = {"SET", key, p->value};
      cmd = {{args.data(), 3}, 1, redis::retry_policy::idempotent};
      break;
    case op_kind::publish:
      args = {"PUBLISH", p->channel, p->value};
      cmd = {{args.data(), 3}, 0, redis::retry_policy::never_after_write};
      break;
  }
  redis::reply rep;
  auto& done = p->done[index].ops;
  // Every 8th op is timed (two clock reads), and the end of the run is checked then: the loop
  // itself should cost little next to the client.
  bool running = true;
  for (std::uint64_t i = 0; running; ++i) {
    const bool sampled = i % sample_every == 0;
    clock_type::time_point t0;
    if (sampled) t0 = clock_type::now();
    boost::system::error_code ec;
    if (p->api == api_kind::view) {
      ec = co_await c->exec_view(cmd, rep);
    } else {
      auto [rec, r] = co_await c->exec_one(make_request(*p, key));
      ec = rec;
      rep = std::move(r);
    }
    if (sampled) {
      const auto t1 = clock_type::now();
      running = t1 < p->end;
      if (!ec && !rep.is_error() && out.latency_ns.size() < max_samples_per_caller) {
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
        out.latency_ns.push_back(
            static_cast<std::uint32_t>(std::clamp<std::int64_t>(ns, 0, UINT32_MAX)));
      }
    }
    if (ec || rep.is_error()) {
      ++out.errors;
      if (out.first_error.empty()) out.first_error = ec ? ec.message() : rep.str;
      continue;
    }
    ++out.ops;
    done.store(out.ops, std::memory_order_relaxed);
  }
  co_return out;
}

// SET every key GET reads (so GET returns a value, as after redis-benchmark's SET test) and check
// that the server answers. Returns an error message, empty on success.
net::awaitable<std::string> warm_up(std::shared_ptr<redis::client> c, std::shared_ptr<plan> p,
                                    std::size_t callers) {
  for (std::size_t i = 0; i < (p->spread ? callers : 1); ++i) {
    auto [ec, rep] =
        co_await c->exec_one(redis::request().push("SET", redis::key(p->key_of(i)), p->value));
    if (ec) co_return "SET failed: " + ec.message();
    if (rep.is_error()) co_return "SET failed: " + rep.str;
  }
  for (int i = 0; i < 100; ++i) {
    auto [pec, prep] = co_await c->exec_one(make_request(*p, p->key_of(0)));
    if (pec) co_return "warm-up failed: " + pec.message();
    if (prep.is_error()) co_return "warm-up failed: " + prep.str;
  }
  co_return std::string{};
}

double percentile_us(std::vector<std::uint32_t>& v, double q) {
  if (v.empty()) return 0.0;
  const auto idx = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(idx), v.end());
  return static_cast<double>(v[idx]) / 1000.0;
}

// Runs the io_context on `threads` threads for the lifetime of the object.
struct io_pool {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
  std::vector<std::thread> threads;
  explicit io_pool(int n) : io(n) {
    for (int i = 0; i < n; ++i) threads.emplace_back([this] { io.run(); });
  }
  ~io_pool() {
    guard.reset();
    io.stop();
    for (auto& t : threads) t.join();
  }
};

// What the window measures, read at its start and its end.
struct snapshot {
  clock_type::time_point at;
  double cpu_s = 0;
  std::uint64_t ops = 0, allocs = 0, writes = 0, written = 0;
};

snapshot take(const plan& p, const redis::client& c) {
  snapshot s;
  s.at = clock_type::now();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  s.cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
            static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  for (const auto& d : p.done) s.ops += d.ops.load(std::memory_order_relaxed);
  for (const auto& n : c.nodes()) {
    s.writes += n.writes;
    s.written += n.commands_written;
  }
  s.allocs = alloc_count::total();
  return s;
}

int run(const bench_options& o) {
  auto parsed = redis::parse_url(o.url);
  if (auto* err = std::get_if<redis::url_error>(&parsed)) {
    std::fprintf(stderr, "owcore_redis_bench: bad --url: %s\n", err->reason.c_str());
    return 2;
  }
  auto log = std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  log->set_level(spdlog::level::warn);

  redis::client_options copts;
  copts.topo = o.cluster ? redis::topology::cluster : redis::topology::standalone;
  copts.node = std::get<redis::url_config>(parsed);
  copts.log = log;
  copts.name = "bench";
  copts.connect_timeout = 2s;
  copts.reply_timeout = 5s;
  copts.queue_timeout = 5s;
  copts.backoff_cap = 500ms;

  const auto callers = static_cast<std::size_t>(o.callers);
  auto p = std::make_shared<plan>(callers);
  p->op = o.op;
  p->api = o.api;
  p->spread = o.spread;
  p->key = o.key;
  p->channel = o.channel;
  p->value.assign(o.value_size, 'x');

  io_pool pool(o.threads);
  auto c = redis::make_client(pool.io.get_executor(), copts);
  c->start();

  // Anything stuck past these limits is a bug or a dead server: report and leave without joining.
  auto stuck = [](const char* what) {
    std::fprintf(stderr, "owcore_redis_bench: %s did not finish in time\n", what);
    std::fflush(stderr);
    std::_Exit(3);
  };
  {
    auto warm = asio::co_spawn(pool.io, warm_up(c, p, callers), asio::use_future);
    if (warm.wait_for(30s) != std::future_status::ready) stuck("warm-up");
    if (auto err = warm.get(); !err.empty()) {
      std::fprintf(stderr, "owcore_redis_bench: %s\n", err.c_str());
      c->stop();
      return 1;
    }
  }

  const auto start = clock_type::now();
  const auto run_for =
      std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.seconds));
  p->end = start + run_for;
  std::vector<std::future<caller_result>> running;
  running.reserve(callers);
  for (std::size_t i = 0; i < callers; ++i)
    running.push_back(asio::co_spawn(pool.io, run_caller(c, p, i), asio::use_future));

  // The steady-state window: from 20% to 90% of the run.
  std::this_thread::sleep_until(start + run_for / 5);
  const bool sites = std::getenv("OWCORE_BENCH_ALLOC_SITES") != nullptr;
  const auto w0 = take(*p, *c);
  alloc_count::record_sites = sites;
  std::this_thread::sleep_until(start + run_for * 9 / 10);
  const auto w1 = take(*p, *c);
  alloc_count::record_sites = false;
  if (sites) {
    Dl_info self{};
    dladdr(reinterpret_cast<void*>(&alloc_count::total), &self);
    const auto base = reinterpret_cast<std::uintptr_t>(self.dli_fbase);
    const auto n = std::min(alloc_count::site_count.load(), alloc_count::sites.size());
    for (std::size_t i = 0; i < n; ++i) {
      const auto a = alloc_count::sites[i].load();
      Dl_info where{};
      if (dladdr(reinterpret_cast<void*>(a), &where) && where.dli_fbase == self.dli_fbase)
        std::fprintf(stderr, "alloc-site 0x%zx\n", static_cast<std::size_t>(a - base - 1));
      else std::fprintf(stderr, "alloc-site %s\n", where.dli_fname ? where.dli_fname : "?");
    }
  }

  // Each caller stops issuing at `end`; its last request is bounded by reply/queue timeouts (5 s).
  const auto give_up = p->end + 20s;
  std::uint64_t ops = 0, errors = 0;
  std::string first_error;
  std::vector<std::uint32_t> samples;
  for (auto& f : running) {
    if (f.wait_until(give_up) != std::future_status::ready) stuck("a caller");
    auto r = f.get();
    ops += r.ops;
    errors += r.errors;
    if (first_error.empty()) first_error = std::move(r.first_error);
    samples.insert(samples.end(), r.latency_ns.begin(), r.latency_ns.end());
  }
  const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  c->stop();

  const double p50 = percentile_us(samples, 0.50);
  const double p99 = percentile_us(samples, 0.99);
  const double wsec = std::chrono::duration<double>(w1.at - w0.at).count();
  const double wops = static_cast<double>(w1.ops - w0.ops);
  auto per_op = [&](double x) { return wops > 0 ? x / wops : 0.0; };
  std::printf(
      "{\"op\":\"%s\",\"api\":\"%s\",\"callers\":%d,\"seconds\":%.3f,\"ops\":%llu,"
      "\"ops_per_sec\":%.1f,\"window_ops_per_sec\":%.1f,\"cpu_us_per_op\":%.3f,"
      "\"allocs_per_op\":%.3f,\"writes_per_op\":%.4f,\"commands_per_write\":%.1f,"
      "\"errors\":%llu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"threads\":%d,\"value_size\":%zu}\n",
      std::string(op_name(o.op)).c_str(), o.api == api_kind::view ? "view" : "request", o.callers,
      elapsed, static_cast<unsigned long long>(ops),
      elapsed > 0 ? static_cast<double>(ops) / elapsed : 0.0, wsec > 0 ? wops / wsec : 0.0,
      per_op((w1.cpu_s - w0.cpu_s) * 1e6), per_op(static_cast<double>(w1.allocs - w0.allocs)),
      per_op(static_cast<double>(w1.writes - w0.writes)),
      w1.writes > w0.writes ? static_cast<double>(w1.written - w0.written) /
                                  static_cast<double>(w1.writes - w0.writes)
                            : 0.0,
      static_cast<unsigned long long>(errors), p50, p99, o.threads, o.value_size);
  std::fflush(stdout);
  if (errors > 0) {
    std::fprintf(stderr, "owcore_redis_bench: %llu error(s), first: %s\n",
                 static_cast<unsigned long long>(errors), first_error.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = parse_args(argc, argv);
  if (auto* err = std::get_if<std::string>(&parsed)) {
    if (!err->empty()) std::fprintf(stderr, "owcore_redis_bench: %s\n", err->c_str());
    std::fputs(usage.data(), err->empty() ? stdout : stderr);
    return err->empty() ? 0 : 2;
  }
  try {
    return run(std::get<bench_options>(parsed));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "owcore_redis_bench: %s\n", e.what());
    return 1;
  }
}
