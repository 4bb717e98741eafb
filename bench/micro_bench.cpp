// Micro-benchmarks of the sans-io cores: RESP encoding/parsing and URL parsing.
#include "owcore/base/metrics.hpp"
#include "owcore/realtime/engineio/sid.hpp"
#include "owcore/realtime/metrics.hpp"
#include "owcore/redis/metrics.hpp"
#include "owcore/redis/protocol/resp.hpp"
#include "owcore/redis/url.hpp"

#include <benchmark/benchmark.h>

namespace {

void resp_encode_set(benchmark::State& state) {
  std::string out;
  const std::string value(static_cast<std::size_t>(state.range(0)), 'v');
  for (auto _ : state) {
    out.clear();
    owcore::redis::encode_command(out, {"SET", "open-webui:bench:key", value});
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(resp_encode_set)->Arg(16)->Arg(1024);

void resp_parse_pipeline(benchmark::State& state) {
  // 100 pipelined GET replies of range(0) bytes each, fed in one read.
  std::string bytes;
  const std::string value(static_cast<std::size_t>(state.range(0)), 'v');
  for (int i = 0; i < 100; ++i) bytes += "$" + std::to_string(value.size()) + "\r\n" + value + "\r\n";
  for (auto _ : state) {
    owcore::redis::reply_parser p;
    (void)p.feed(bytes);
    boost::system::error_code ec;
    int n = 0;
    while (auto r = p.next(ec)) ++n;
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 100);
}
BENCHMARK(resp_parse_pipeline)->Arg(16)->Arg(1024);

void url_parse(benchmark::State& state) {
  for (auto _ : state) {
    auto r = owcore::redis::parse_url("rediss://user:p%40ss@redis.example.com:6380/2?ssl_cert_reqs=none");
    benchmark::DoNotOptimize(&r);
  }
}
BENCHMARK(url_parse);

void sid_generate(benchmark::State& state) {
  owcore::realtime::engineio::sid_generator g;
  for (auto _ : state) benchmark::DoNotOptimize(g.next());
}
BENCHMARK(sid_generate);

// The cost of counting (docs/metrics.md): what one Redis request adds on the client's path.
void metrics_counter_inc(benchmark::State& state) {
  static owcore::base::metrics::counter c;
  for (auto _ : state) c.inc();
}
BENCHMARK(metrics_counter_inc)->Threads(1)->Threads(2);

void metrics_histogram_observe(benchmark::State& state) {
  static owcore::base::metrics::histogram h;
  const auto d = std::chrono::microseconds(state.range(0));
  for (auto _ : state) h.observe(d);
}
BENCHMARK(metrics_histogram_observe)->Arg(80)->Arg(30000);

void metrics_redis_request(benchmark::State& state) {
  auto& node = owcore::redis::metrics().clients.slot("bench").nodes.slot("127.0.0.1:6379");
  const owcore::redis::response replies(1);
  for (auto _ : state)
    node.record(1, std::chrono::steady_clock::now(), boost::system::error_code{}, replies);
}
BENCHMARK(metrics_redis_request);

void metrics_event_index(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(owcore::realtime::event_index("ydoc:awareness:update"));
}
BENCHMARK(metrics_event_index);

}  // namespace
