// Redis client throughput: `--callers` coroutines each loop `exec_one` with one command per
// request through one multiplexed client for a bounded time, then one line of JSON with ops/s,
// errors and latency percentiles. bench/run_redis_bench runs it beside redis-benchmark.
#include "owcore/redis/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <future>
#include <memory>
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

struct bench_options {
  std::string url = "redis://127.0.0.1:6379/0";
  int callers = 50;
  double seconds = 5.0;
  op_kind op = op_kind::get;
  int threads = 2;
  std::size_t value_size = 3;
  // redis-benchmark's defaults: without -r the key is literally "key:__rand_int__", values "xxx".
  std::string key = "key:__rand_int__";
  std::string channel = "bench:chan";
};

constexpr std::string_view usage =
    "usage: owcore_redis_bench --url redis://HOST:PORT/DB --op get|set|publish\n"
    "                          [--callers 50] [--seconds 5] [--threads 2] [--value-size 3]\n"
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

// What every caller shares (read-only once the run starts).
struct plan {
  op_kind op;
  std::string key;
  std::string channel;
  std::string value;
  clock_type::time_point end;
};

redis::request make_request(const plan& p) {
  redis::request r;
  switch (p.op) {
    case op_kind::get: r.push("GET", redis::key(p.key)).idempotent(); break;
    case op_kind::set: r.push("SET", redis::key(p.key), p.value).idempotent(); break;
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

net::awaitable<caller_result> run_caller(std::shared_ptr<redis::client> c,
                                         std::shared_ptr<const plan> p) {
  caller_result out;
  out.latency_ns.reserve(4096);
  // One clock read per op: the end of one request is the start of the next.
  auto t0 = clock_type::now();
  for (std::uint64_t i = 0; t0 < p->end; ++i) {
    auto [ec, rep] = co_await c->exec_one(make_request(*p));
    const auto t1 = clock_type::now();
    const auto dt = t1 - t0;
    t0 = t1;
    if (ec || rep.is_error()) {
      ++out.errors;
      if (out.first_error.empty()) out.first_error = ec ? ec.message() : rep.str;
      continue;
    }
    ++out.ops;
    if (i % sample_every == 0 && out.latency_ns.size() < max_samples_per_caller) {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(dt).count();
      out.latency_ns.push_back(static_cast<std::uint32_t>(std::clamp<std::int64_t>(ns, 0, UINT32_MAX)));
    }
  }
  co_return out;
}

// SET the key GET reads (so GET returns a value, as after redis-benchmark's SET test) and check
// that the server answers. Returns an error message, empty on success.
net::awaitable<std::string> warm_up(std::shared_ptr<redis::client> c, std::shared_ptr<const plan> p) {
  auto [ec, rep] = co_await c->exec_one(redis::request().push("SET", redis::key(p->key), p->value));
  if (ec) co_return "SET failed: " + ec.message();
  if (rep.is_error()) co_return "SET failed: " + rep.str;
  for (int i = 0; i < 100; ++i) {
    auto [pec, prep] = co_await c->exec_one(make_request(*p));
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

int run(const bench_options& o) {
  auto parsed = redis::parse_url(o.url);
  if (auto* err = std::get_if<redis::url_error>(&parsed)) {
    std::fprintf(stderr, "owcore_redis_bench: bad --url: %s\n", err->reason.c_str());
    return 2;
  }
  auto log = std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  log->set_level(spdlog::level::warn);

  redis::client_options copts;
  copts.topo = redis::topology::standalone;
  copts.node = std::get<redis::url_config>(parsed);
  copts.log = log;
  copts.name = "bench";
  copts.connect_timeout = 2s;
  copts.reply_timeout = 5s;
  copts.queue_timeout = 5s;
  copts.backoff_cap = 500ms;

  auto p = std::make_shared<plan>();
  p->op = o.op;
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
    auto warm = asio::co_spawn(pool.io, warm_up(c, p), asio::use_future);
    if (warm.wait_for(15s) != std::future_status::ready) stuck("warm-up");
    if (auto err = warm.get(); !err.empty()) {
      std::fprintf(stderr, "owcore_redis_bench: %s\n", err.c_str());
      c->stop();
      return 1;
    }
  }

  const auto start = clock_type::now();
  p->end = start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.seconds));
  std::vector<std::future<caller_result>> running;
  running.reserve(static_cast<std::size_t>(o.callers));
  for (int i = 0; i < o.callers; ++i)
    running.push_back(asio::co_spawn(pool.io, run_caller(c, p), asio::use_future));

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
  std::printf(
      "{\"op\":\"%s\",\"callers\":%d,\"seconds\":%.3f,\"ops\":%llu,\"ops_per_sec\":%.1f,"
      "\"errors\":%llu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"threads\":%d,\"value_size\":%zu}\n",
      std::string(op_name(o.op)).c_str(), o.callers, elapsed, static_cast<unsigned long long>(ops),
      elapsed > 0 ? static_cast<double>(ops) / elapsed : 0.0, static_cast<unsigned long long>(errors),
      p50, p99, o.threads, o.value_size);
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
