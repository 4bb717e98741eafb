// The metric primitives (base/metrics.hpp) and the layers' label tables: exact counts under
// concurrency, histogram bucket boundaries, the bounded label slots, and the text rendering of
// app/metrics.cpp (families and values; the full format is checked by an independent parser in
// tests/integration/metrics_test.cpp).

#include "owcore/app/metrics.hpp"
#include "../support/io_runner.hpp"
#include "owcore/base/metrics.hpp"
#include "owcore/db/database.hpp"
#include "owcore/db/metrics.hpp"
#include "owcore/http/metrics.hpp"
#include "owcore/http/router.hpp"
#include "owcore/realtime/metrics.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace metrics_test {

namespace {

namespace bm = owcore::base::metrics;
using namespace std::chrono_literals;

TEST(Metrics, CounterAndGaugeAreExactUnderConcurrency) {
  bm::counter c;
  bm::gauge g;
  constexpr int threads = 4, per_thread = 100000;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        c.inc();
        g.add(2);
        g.sub();
      }
    });
  for (auto& t : pool) t.join();
  EXPECT_EQ(c.value(), std::uint64_t{threads} * per_thread);
  EXPECT_EQ(g.value(), std::int64_t{threads} * per_thread);
  c.inc(5);
  EXPECT_EQ(c.value(), std::uint64_t{threads} * per_thread + 5);
  g.set(-3);
  EXPECT_EQ(g.value(), -3);
}

TEST(Metrics, HistogramBucketsAreInclusiveUpperBounds) {
  bm::histogram h;
  h.observe(0ns);
  h.observe(-5ms);         // a clock step backwards counts as zero
  h.observe(100us);        // exactly on the first bound: first bucket
  h.observe(100us + 1ns);  // just above: second bucket
  h.observe(1s);           // exactly 1 s: the 1 s bucket
  h.observe(10s);          // the last finite bound
  h.observe(10s + 1ns);    // +Inf
  h.observe(std::chrono::hours(1));
  const auto s = h.snapshot();
  EXPECT_EQ(s.counts[0], 3u);
  EXPECT_EQ(s.counts[1], 1u);
  const auto one_second =
      std::find(bm::latency_bounds_us.begin(), bm::latency_bounds_us.end(), 1'000'000u) -
      bm::latency_bounds_us.begin();
  EXPECT_EQ(s.counts[static_cast<std::size_t>(one_second)], 1u);
  EXPECT_EQ(s.counts[bm::latency_bounds_us.size() - 1], 1u);
  EXPECT_EQ(s.counts[bm::histogram::buckets - 1], 2u);
  EXPECT_EQ(s.count(), 8u);
  const std::uint64_t expected_ns = 100'000 + 100'001 + 1'000'000'000ull + 10'000'000'000ull +
                                    10'000'000'001ull + 3'600'000'000'000ull;
  EXPECT_EQ(s.sum_ns, expected_ns);
}

TEST(Metrics, HistogramCountsEveryObservationUnderConcurrency) {
  bm::histogram h;
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < 50000; ++i) h.observe(std::chrono::microseconds(t * 1000 + i % 7));
    });
  for (auto& t : pool) t.join();
  EXPECT_EQ(h.snapshot().count(), 200000u);
}

TEST(Metrics, BoundedSlotsKeepTheLabelSetBounded) {
  bm::bounded_slots<bm::counter, 2> slots;
  auto& a = slots.slot("a");
  auto& b = slots.slot("b");
  auto& c = slots.slot("c");  // beyond N: "other"
  auto& d = slots.slot("d");
  EXPECT_NE(&a, &b);
  EXPECT_EQ(&c, &d);
  EXPECT_EQ(&slots.slot("a"), &a);
  EXPECT_EQ(&slots.slot("other"), &c);
  a.inc();
  c.inc(2);
  d.inc(3);
  std::vector<std::pair<std::string, std::uint64_t>> seen;
  slots.for_each(
      [&](std::string_view name, const bm::counter& v) { seen.emplace_back(name, v.value()); });
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], (std::pair<std::string, std::uint64_t>{"a", 1}));
  EXPECT_EQ(seen[1], (std::pair<std::string, std::uint64_t>{"b", 0}));
  EXPECT_EQ(seen[2], (std::pair<std::string, std::uint64_t>{"other", 5}));
  EXPECT_EQ(slots.size(), 2u);
}

TEST(Metrics, BoundedSlotsUnderConcurrentCreation) {
  bm::bounded_slots<bm::counter, 8> slots;
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) slots.slot("n" + std::to_string((i + t) % 20)).inc();
    });
  for (auto& t : pool) t.join();
  std::set<std::string> names;
  std::uint64_t total = 0;
  slots.for_each([&](std::string_view name, const bm::counter& v) {
    EXPECT_TRUE(names.insert(std::string(name)).second) << "duplicate slot " << name;
    total += v.value();
  });
  EXPECT_EQ(names.size(), 9u);  // 8 named + "other"
  EXPECT_TRUE(names.contains("other"));
  EXPECT_EQ(total, 8000u);
}

TEST(Metrics, LabelTablesAreBounded) {
  using owcore::realtime::event_index;
  using owcore::realtime::event_labels;
  EXPECT_EQ(event_labels[event_index("heartbeat")], "heartbeat");
  EXPECT_EQ(event_labels[event_index("ydoc:document:update")], "ydoc:document:update");
  EXPECT_EQ(event_index("anything a client invents"), event_labels.size());
  EXPECT_EQ(event_index(""), event_labels.size());
  EXPECT_EQ(owcore::http::labelled_statuses[owcore::http::status_index(404)], 404u);
  EXPECT_EQ(owcore::http::status_index(599), owcore::http::labelled_statuses.size());
}

TEST(Metrics, RouterCountsByRouteAndStatus) {
  namespace http = owcore::http;
  owcore::test::io_runner io;
  auto r = std::make_shared<http::router>();
  r->add(http::bhttp::verb::get, "/metrics-test/ok",
         [](const http::request& req) -> owcore::net::awaitable<http::response> {
           co_return http::json_response(req, http::bhttp::status::ok, "{}");
         });
  r->add_prefix(http::bhttp::verb::get, "/metrics-test/item/",
                [](const http::request&) -> owcore::net::awaitable<http::response> {
                  throw std::runtime_error("boom");
                  co_return http::response{};
                });
  auto& ok = http::metrics().routes.slot("/metrics-test/ok");
  auto& item = http::metrics().routes.slot("/metrics-test/item/*");
  const auto ok200 = ok.by_status[http::status_index(200)].value();
  const auto ok405 = ok.by_status[http::status_index(405)].value();
  const auto item500 = item.by_status[http::status_index(500)].value();
  auto send = [&](http::bhttp::verb v, const char* target) {
    http::request req{v, target, 11};
    try {
      return io.run(r->dispatch(req)).result_int();
    } catch (const std::exception&) {
      return 500u;
    }
  };
  EXPECT_EQ(send(http::bhttp::verb::get, "/metrics-test/ok?x=1"), 200u);
  EXPECT_EQ(send(http::bhttp::verb::get, "/metrics-test/ok"), 200u);
  EXPECT_EQ(send(http::bhttp::verb::post, "/metrics-test/ok"), 405u);
  EXPECT_EQ(send(http::bhttp::verb::get, "/metrics-test/item/42"), 500u);
  EXPECT_EQ(ok.by_status[http::status_index(200)].value(), ok200 + 2);
  EXPECT_EQ(ok.by_status[http::status_index(405)].value(), ok405 + 1);
  EXPECT_EQ(item.by_status[http::status_index(500)].value(), item500 + 1);

  const auto text = owcore::app::render_metrics();
  EXPECT_NE(text.find("# TYPE owcore_http_requests_total counter"), std::string::npos);
  EXPECT_NE(text.find("owcore_http_requests_total{route=\"/metrics-test/ok\",code=\"200\"} " +
                      std::to_string(ok200 + 2)),
            std::string::npos)
      << text;
}

TEST(Metrics, DatabaseStatementsAreCounted) {
  namespace db = owcore::db;
  owcore::test::io_runner io;
  const auto dir =
      std::filesystem::temp_directory_path() / ("owcore-metrics-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  db::options o;
  o.kind = db::dialect::sqlite;
  o.sqlite_path = (dir / "m.db").string();
  o.sqlite_create = true;
  o.pool_size = 1;
  auto& m = db::metrics().by_dialect[0];
  const auto queries = m.queries.value(), errors = m.errors.value();
  const auto observed = m.latency.snapshot().count();
  {
    auto opened = io.run(db::open(io.io.get_executor(), o));
    ASSERT_TRUE(opened) << opened.error().message();
    auto d = *opened;
    static constexpr db::statement good{"m_good", "SELECT 1"};
    static constexpr db::statement bad{"m_bad", "SELECT * FROM no_such_table"};
    EXPECT_TRUE(io.run(d->exec(good, {})));
    EXPECT_FALSE(io.run(d->exec(bad, {})));
    d->stop();
  }
  std::filesystem::remove_all(dir);
  EXPECT_EQ(m.queries.value(), queries + 2);
  EXPECT_EQ(m.errors.value(), errors + 1);
  EXPECT_EQ(m.latency.snapshot().count(), observed + 2);
}

TEST(Metrics, RenderingHasOnlyOwcoreFamiliesWithHelpAndType) {
  const auto text = owcore::app::render_metrics();
  std::size_t families = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto end = text.find('\n', pos);
    const auto line = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? text.size() : end + 1;
    if (line.empty()) continue;
    if (line.starts_with("# TYPE ")) ++families;
    if (line.starts_with("# ")) {
      EXPECT_TRUE(line.starts_with("# HELP owcore_") || line.starts_with("# TYPE owcore_")) << line;
    } else {
      EXPECT_TRUE(line.starts_with("owcore_")) << line;
    }
  }
  EXPECT_GE(families, 30u);
  EXPECT_NE(text.find("owcore_socketio_events_received_total{event=\"other\"}"), std::string::npos);
  EXPECT_NE(text.find("owcore_db_query_duration_seconds_bucket{dialect=\"sqlite\",le=\"+Inf\"}"),
            std::string::npos)
      << text;
}

}  // namespace

}  // namespace metrics_test
