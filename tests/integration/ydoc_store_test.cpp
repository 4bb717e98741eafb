// The Yjs document store on every backend: memory, Redis standalone and Redis Cluster run the
// same behaviours (docs/wire.md, "Yjs documents"); concurrent appends while compactions run lose
// nothing; Python's stdlib-JSON elements and invalid elements; interop with
// YdocManager's exact operations in Python; and `owcore ydoc show`.
#include "owcore/app/ydoc_show.hpp"
#include "owcore/coord/ydoc/document_store.hpp"
#include "owcore/coord/ydoc/keys.hpp"
#include "owcore/redis/client.hpp"
#include "owcore/yjs/merge.hpp"
#include "owcore/yjs/update.hpp"
#include "support/io_runner.hpp"
#include "support/process.hpp"
#include "support/redis_client.hpp"
#include "support/redis_topology.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <algorithm>
#include <chrono>
#include <thread>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace ydoc_store_test {

namespace asio = boost::asio;
namespace net = owcore::net;
namespace redis = owcore::redis;
namespace test = owcore::test;
namespace yjs = owcore::yjs;
namespace ydoc = owcore::coord::ydoc;
using yjs::byte_buffer;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<spdlog::logger> test_log() {
  static auto log = [] {
    auto l = std::make_shared<spdlog::logger>("ydoc-test", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_level(spdlog::level::warn);
    return l;
  }();
  return log;
}

// The shared two-thread runner (tests/support/io_runner.hpp) with this file's deadline.
struct io_runner : owcore::test::io_runner {
  io_runner() : owcore::test::io_runner(std::chrono::seconds(120)) {}
};

// --- Valid v1 updates (docs/yjs.md) ------------------------------------------------------------

void var_uint(byte_buffer& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(0x80 | (v & 0x7f)));
    v >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(v));
}

// One character of `client` at `clock` in root text "t", after (client, clock - 1) when clock > 0.
byte_buffer insert_update(std::uint64_t client, std::uint64_t clock, char ch) {
  byte_buffer u{1, 1};
  var_uint(u, client);
  var_uint(u, clock);
  u.push_back(clock > 0 ? 0x84 : 0x04);
  if (clock > 0) {
    var_uint(u, client);
    var_uint(u, clock - 1);
  } else {
    u.insert(u.end(), {1, 1, 't'});  // root type "t"
  }
  u.insert(u.end(), {1, static_cast<std::uint8_t>(ch), 0});
  return u;
}

byte_buffer delete_update(std::uint64_t client, std::uint64_t clock, std::uint64_t len) {
  byte_buffer u{0, 1};
  var_uint(u, client);
  var_uint(u, 1);
  var_uint(u, clock);
  var_uint(u, len);
  return u;
}

char char_of(std::uint64_t client, std::uint64_t clock) { return static_cast<char>('a' + (client * 7 + clock) % 26); }

// Three clients typing; every 7th operation deletes two earlier characters of its client.
std::vector<byte_buffer> keystrokes(std::size_t count) {
  std::vector<byte_buffer> out;
  std::map<std::uint64_t, std::uint64_t> clock;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t c = 1000 + i % 3;
    auto& k = clock[c];
    if (i % 7 == 6 && k >= 4) {
      out.push_back(delete_update(c, k - 4, 2));
      continue;
    }
    out.push_back(insert_update(c, k, char_of(c, k)));
    ++k;
  }
  return out;
}

// What a receiver re-derives per clock unit: origins, and content unless deleted.
struct unit {
  std::optional<std::pair<std::uint64_t, std::uint64_t>> origin;
  int ch = -1;
  bool operator==(const unit&) const = default;
};
struct view {
  std::map<std::pair<std::uint64_t, std::uint64_t>, unit> units;
  std::set<std::pair<std::uint64_t, std::uint64_t>> deleted;
  std::size_t skips = 0;
  bool operator==(const view&) const = default;
};

view view_of(yjs::byte_view bytes) {
  view v;
  auto u = yjs::decode_update(bytes);
  if (!u) throw std::runtime_error("undecodable state: " + u.error().message());
  for (const auto& d : yjs::merge_delete_sets(u->deletes))
    for (std::uint64_t c = d.clock; c < d.clock + d.length; ++c) v.deleted.insert({d.client, c});
  for (const auto& b : u->blocks) {
    if (b.kind == yjs::struct_kind::skip) {
      ++v.skips;
      continue;
    }
    for (std::uint64_t i = 0; i < b.length; ++i) {
      unit x;
      if (i > 0) x.origin = std::pair{b.client, b.clock + i - 1};
      else if (b.has_origin) x.origin = std::pair{b.origin.client, b.origin.clock};
      if (b.kind == yjs::struct_kind::item && b.ref == yjs::content_ref::string) x.ch = b.content[i];
      const std::pair id{b.client, b.clock + i};
      if (v.deleted.contains(id)) x.ch = -1;
      v.units[id] = x;
    }
  }
  return v;
}

byte_buffer merge_all(const std::vector<byte_buffer>& updates) {
  std::vector<yjs::byte_view> views(updates.begin(), updates.end());
  return yjs::merge_updates(views).value();
}

std::string hex(yjs::byte_view b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (auto c : b) {
    s += digits[c >> 4];
    s += digits[c & 15];
  }
  return s;
}

// Python's json.dumps(list(update)): "[1, 2, 3]".
std::string stdlib_json(yjs::byte_view b) {
  std::string s = "[";
  for (std::size_t i = 0; i < b.size(); ++i) s += (i ? ", " : "") + std::to_string(b[i]);
  return s + "]";
}

// --- Backends -----------------------------------------------------------------------------------

enum class kind { memory, standalone, cluster };

std::string name_of(kind k) {
  switch (k) {
    case kind::memory: return "Memory";
    case kind::standalone: return "Standalone";
    case kind::cluster: return "Cluster";
  }
  return "?";
}

// Test names and failure messages show the backend's name.
[[maybe_unused]] void PrintTo(kind k, std::ostream* os) { *os << name_of(k); }

// One backend under test. `store()` makes a new store object ("an instance"); Redis stores get a
// client each and share the server, memory stores share one in-process store (the memory
// backend is one process by definition).
struct backend {
  kind k;
  std::unique_ptr<test::standalone_topology> standalone;
  std::unique_ptr<test::cluster_topology> cluster;
  io_runner io;
  std::vector<std::shared_ptr<redis::client>> clients;
  std::shared_ptr<ydoc::document_store> shared_memory;
  std::string prefix = "yt" + std::to_string(::getpid());

  explicit backend(kind kk) : k(kk) {
    if (k == kind::standalone) standalone = std::make_unique<test::standalone_topology>();
    if (k == kind::cluster) cluster = std::make_unique<test::cluster_topology>();
  }
  ~backend() {
    for (auto& c : clients) c->stop();
  }

  bool is_redis() const { return k != kind::memory; }

  std::shared_ptr<ydoc::document_store> store(ydoc::store_options opts = {}) {
    if (!opts.log) opts.log = test_log();
    if (k == kind::memory) return ydoc::make_memory_document_store(opts);
    auto url = std::get<redis::url_config>(redis::parse_url(standalone ? standalone->url() : cluster->seed_url()));
    redis::client_options o;
    o.node = url;
    o.topo = standalone ? redis::topology::standalone : redis::topology::cluster;
    o.log = test_log();
    o.connect_timeout = 2s;
    o.reply_timeout = 10s;
    o.queue_timeout = 20s;
    auto c = redis::make_client(io.io.get_executor(), o);
    c->start();
    clients.push_back(c);
    return ydoc::make_redis_document_store(owcore::coord::redis_backend{c, prefix}, opts);
  }

  // Two "instances" on one backend.
  std::pair<std::shared_ptr<ydoc::document_store>, std::shared_ptr<ydoc::document_store>> two_stores(
      ydoc::store_options opts = {}) {
    if (k == kind::memory) {
      auto s = store(opts);
      return {s, s};
    }
    return {store(opts), store(opts)};
  }

  // A raw command on the node that owns the first key (args[1]).
  test::reply raw(const std::vector<std::string>& args) {
    if (standalone) return test::redis_command(standalone->port(), args);
    return test::redis_command(cluster->node_for_key(args.at(1)).port(), args);
  }

  int port_for(const std::string& key) {
    return standalone ? standalone->port() : cluster->node_for_key(key).port();
  }
};

class YdocStore : public ::testing::TestWithParam<kind> {};
class YdocRedisStore : public ::testing::TestWithParam<kind> {};

std::string param_name(const ::testing::TestParamInfo<kind>& info) { return name_of(info.param); }

}  // namespace

// Empty state, validation, append/state/get_updates, presence, reverse index, clear, and the raw
// keys Python reads.
TEST_P(YdocStore, Behaviour) {
  backend b(GetParam());
  auto s = b.store();
  auto& io = b.io;
  const std::string doc = "note:behave";

  EXPECT_EQ(io.run(s->state(doc)).value(), (byte_buffer{0, 0}));
  EXPECT_FALSE(io.run(s->exists(doc)).value());
  EXPECT_EQ(io.run(s->append(doc, byte_buffer{1, 1, 1})).error(), ydoc::error::invalid_update);
  EXPECT_FALSE(io.run(s->exists(doc)).value()) << "a refused update is never stored";

  const auto u1 = insert_update(42, 0, 'h'), u2 = insert_update(42, 1, 'i'), u3 = delete_update(42, 0, 1);
  EXPECT_EQ(io.run(s->append(doc, u1)).value(), 1u);
  EXPECT_EQ(io.run(s->state(doc)).value(), u1);
  EXPECT_EQ(io.run(s->append("note_behave", u2)).value(), 2u);
  EXPECT_EQ(io.run(s->append(doc, u3)).value(), 3u);
  EXPECT_TRUE(io.run(s->exists(doc)).value());
  EXPECT_EQ(io.run(s->get_updates(doc)).value(), (std::vector<byte_buffer>{u1, u2, u3}));
  EXPECT_EQ(io.run(s->state(doc)).value(), merge_all({u1, u2, u3}));

  io.run(s->add_user(doc, "sidA")).value();
  io.run(s->add_user(doc, "sidB")).value();
  io.run(s->add_user("note:other", "sidA")).value();
  io.run(s->append("note:other", insert_update(43, 0, 'o'))).value();
  EXPECT_EQ(io.run(s->users(doc)).value(), (std::vector<std::string>{"sidA", "sidB"}));

  if (b.is_redis()) {
    const auto key = ydoc::keys::updates(b.prefix, doc);
    EXPECT_EQ(key, b.prefix + ":ydoc:documents:note_behave:updates");
    EXPECT_EQ(b.raw({"LINDEX", key, "0"}).str, ydoc::format_element(u1)) << "compact JSON elements";
    EXPECT_EQ(b.raw({"TYPE", ydoc::keys::users(b.prefix, doc)}).str, "set");
    auto index = b.raw({"SMEMBERS", ydoc::keys::session_documents(b.prefix, "sidA")});
    std::set<std::string> docs;
    for (auto& e : index.elements) docs.insert(e.str);
    EXPECT_EQ(docs, (std::set<std::string>{"note_behave", "note_other"})) << "storage ids in the index";
  }

  // sidA disconnects: note:other loses its only user and is cleared; note:behave keeps sidB.
  EXPECT_EQ(io.run(s->remove_user_from_all_documents("sidA")).value(), (std::vector<std::string>{"note_other"}));
  EXPECT_FALSE(io.run(s->exists("note:other")).value());
  EXPECT_TRUE(io.run(s->exists(doc)).value());
  EXPECT_EQ(io.run(s->users(doc)).value(), (std::vector<std::string>{"sidB"}));
  if (b.is_redis()) {
    EXPECT_EQ(b.raw({"EXISTS", ydoc::keys::session_documents(b.prefix, "sidA")}).integer, 0);
    EXPECT_EQ(b.raw({"EXISTS", ydoc::keys::users(b.prefix, "note:other")}).integer, 0);
  }
  io.run(s->remove_user(doc, "sidB")).value();
  EXPECT_TRUE(io.run(s->users(doc)).value().empty());
  EXPECT_TRUE(io.run(s->exists(doc)).value()) << "remove_user leaves clearing to the caller";
  io.run(s->clear(doc)).value();
  EXPECT_FALSE(io.run(s->exists(doc)).value());
  EXPECT_EQ(io.run(s->state(doc)).value(), (byte_buffer{0, 0}));
  if (b.is_redis()) {
    EXPECT_EQ(b.raw({"EXISTS", ydoc::keys::updates(b.prefix, doc)}).integer, 0);
    EXPECT_EQ(b.raw({"EXISTS", ydoc::keys::users(b.prefix, doc)}).integer, 0);
  }
}

// A cleanup made on a stalled instance's behalf (the lease sweep) leaves a document without users
// to expire rather than clearing it; a join before then keeps it for good.
TEST_P(YdocStore, EmptiedOnAnothersBehalfExpiresUnlessJoinedAgain) {
  backend b(GetParam());
  auto s = b.store();
  auto& io = b.io;
  const auto u = insert_update(44, 0, 'k');
  io.run(s->append("note:kept", u)).value();
  io.run(s->append("note:lapsed", u)).value();
  io.run(s->add_user("note:kept", "sidS")).value();
  io.run(s->add_user("note:lapsed", "sidS")).value();

  const auto keep = std::chrono::milliseconds(300);
  auto left = io.run(s->remove_user_from_all_documents("sidS", keep)).value();
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"note_kept", "note_lapsed"}));
  EXPECT_TRUE(io.run(s->exists("note:kept")).value()) << "not cleared at once";
  EXPECT_TRUE(io.run(s->users("note:kept")).value().empty());
  if (b.is_redis()) {
    EXPECT_GT(b.raw({"PTTL", ydoc::keys::updates(b.prefix, "note_lapsed")}).integer, 0);
  }

  // The stalled instance writes its socket's presence back in one document only.
  io.run(s->add_user("note:kept", "sidS")).value();
  if (b.is_redis()) {
    EXPECT_EQ(b.raw({"PTTL", ydoc::keys::updates(b.prefix, "note_kept")}).integer, -1);
  }
  std::this_thread::sleep_for(keep + std::chrono::milliseconds(200));
  EXPECT_FALSE(io.run(s->exists("note:lapsed")).value()) << "expired";
  EXPECT_EQ(io.run(s->state("note:lapsed")).value(), (byte_buffer{0, 0}));
  EXPECT_TRUE(io.run(s->exists("note:kept")).value()) << "the join cancelled the expiry";
  EXPECT_EQ(io.run(s->state("note:kept")).value(), u);

  // A plain disconnect still clears at once, as Python does.
  EXPECT_EQ(io.run(s->remove_user_from_all_documents("sidS")).value(), (std::vector<std::string>{"note_kept"}));
  EXPECT_FALSE(io.run(s->exists("note:kept")).value());
}

// Rolling compaction at 500: the state stays the state of everything appended.
TEST_P(YdocStore, CompactionAtFiveHundredKeepsTheState) {
  backend b(GetParam());
  auto s = b.store();
  const std::string doc = "note:compact";
  const auto updates = keystrokes(1400);
  for (std::size_t i = 0; i < 499; ++i) b.io.run(s->append(doc, updates[i])).value();
  EXPECT_EQ(b.io.run(s->get_updates(doc)).value().size(), 499u);
  EXPECT_EQ(b.io.run(s->append(doc, updates[499])).value(), 500u);
  auto stored = b.io.run(s->get_updates(doc)).value();
  ASSERT_EQ(stored.size(), 251u) << "the oldest 250 became one snapshot";
  EXPECT_EQ(std::vector<byte_buffer>(stored.begin() + 1, stored.end()),
            std::vector<byte_buffer>(updates.begin() + 250, updates.begin() + 500));
  EXPECT_EQ(view_of(b.io.run(s->state(doc)).value()), view_of(merge_all({updates.begin(), updates.begin() + 500})));

  for (std::size_t i = 500; i < updates.size(); ++i) EXPECT_LT(b.io.run(s->append(doc, updates[i])).value(), 501u);
  const auto v = view_of(b.io.run(s->state(doc)).value());
  EXPECT_EQ(v, view_of(merge_all(updates)));
  EXPECT_EQ(v.skips, 0u);
  EXPECT_GT(v.units.size(), 1000u);
  if (b.is_redis()) {
    // Every element, the snapshots included, is a JSON byte array Python's json.loads reads.
    auto all = b.raw({"LRANGE", ydoc::keys::updates(b.prefix, doc), "0", "-1"});
    ASSERT_LT(all.elements.size(), 500u);
    for (auto& e : all.elements) {
      const char* reason = "";
      EXPECT_TRUE(ydoc::parse_element(e.str, reason)) << reason;
      EXPECT_EQ(e.str.find(' '), std::string::npos);
    }
  }
}

// Two instances, many writers, compactions all the time: nothing appended is ever lost.
TEST_P(YdocStore, ConcurrentAppendsDuringCompactionLoseNothing) {
  backend b(GetParam());
  struct doc_case {
    std::string doc;
    std::size_t threshold;
    int writers_per_instance;
    int per_writer;
  };
  const std::vector<doc_case> cases{{"note:race-500", 500, 5, 150}, {"note:race-24", 24, 4, 100}};
  std::vector<std::future<void>> done;
  std::map<std::string, std::shared_ptr<ydoc::document_store>> reader;  // doc -> a store that sees it
  std::uint64_t next_client = 5000;
  // The stores' compaction log lines say how many appends each compaction kept.
  std::ostringstream log_text;
  auto log = std::make_shared<spdlog::logger>("ydoc-race", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text));
  log->set_level(spdlog::level::debug);
  std::map<std::string, std::vector<std::pair<std::uint64_t, int>>> expected;  // doc -> (client, count)
  for (const auto& c : cases) {
    ydoc::store_options opts;
    opts.compaction_threshold = c.threshold;
    opts.log = log;
    auto [s1, s2] = b.two_stores(opts);
    reader[c.doc] = s1;
    for (int w = 0; w < 2 * c.writers_per_instance; ++w) {
      auto store = w % 2 ? s1 : s2;
      const std::uint64_t client = next_client++;
      expected[c.doc].emplace_back(client, c.per_writer);
      done.push_back(asio::co_spawn(
          b.io.io,
          [store, client, doc = c.doc, n = c.per_writer]() -> net::awaitable<void> {
            for (int i = 0; i < n; ++i) {
              const auto clock = static_cast<std::uint64_t>(i);
              auto r = co_await store->append(doc, insert_update(client, clock, char_of(client, clock)));
              if (!r) throw std::runtime_error("append failed: " + r.error().message());
            }
          },
          asio::use_future));
    }
  }
  for (auto& f : done) {
    ASSERT_EQ(f.wait_for(180s), std::future_status::ready);
    f.get();
  }
  for (const auto& c : cases) {
    SCOPED_TRACE(c.doc);
    auto s = reader[c.doc];
    const auto v = view_of(b.io.run(s->state(c.doc)).value());
    EXPECT_EQ(v.skips, 0u) << "a gap means a lost update";
    std::size_t total = 0;
    for (const auto& [client, n] : expected[c.doc]) {
      for (int i = 0; i < n; ++i) {
        const auto clock = static_cast<std::uint64_t>(i);
        auto it = v.units.find({client, clock});
        ASSERT_NE(it, v.units.end()) << "client " << client << " update " << i << " lost";
        EXPECT_EQ(it->second.ch, char_of(client, clock));
      }
      total += static_cast<std::size_t>(n);
    }
    EXPECT_EQ(v.units.size(), total);
    const auto length = b.io.run(s->get_updates(c.doc)).value().size();
    EXPECT_LT(length, c.threshold) << "compaction kept the list bounded";
    std::cout << "[ ydoc ] " << name_of(GetParam()) << " " << c.doc << ": " << total << " appends, list of "
              << length << " elements afterwards\n";
  }
  log->flush();
  const std::string text = log_text.str();
  std::size_t compactions = 0, skipped = 0, kept = 0, overlapping = 0;
  for (std::size_t at = text.find("compacted the oldest"); at != std::string::npos;
       at = text.find("compacted the oldest", at + 1)) {
    ++compactions;
    const auto semi = text.find("; ", at);
    const auto n = std::stoul(text.substr(semi + 2));
    kept += n;
    overlapping += n > 0 ? 1 : 0;
  }
  for (auto at = text.find("compaction skipped"); at != std::string::npos; at = text.find("compaction skipped", at + 1))
    ++skipped;
  std::cout << "[ ydoc ] " << name_of(GetParam()) << ": " << compactions << " compactions (" << overlapping
            << " with appends landing meanwhile, " << kept << " such appends kept), " << skipped
            << " skipped because another instance compacted first\n";
  EXPECT_GT(compactions, 20u);
  if (b.is_redis()) {
    EXPECT_GT(kept, 0u) << "appends must have landed while compactions ran";
  }
  EXPECT_EQ(text.find("[warning]"), std::string::npos) << text.substr(0, 4000);
}

// Elements written the way Python writes them ("[1, 2, 3]"), orjson's form, and invalid ones
// (docs/wire.md, "Trust and isolation"): state skips the invalid ones, compaction moves them aside
// and drops them.
TEST_P(YdocRedisStore, PythonStdlibElementsAndInvalidElements) {
  backend b(GetParam());
  auto s = b.store();
  const std::string doc = "note:py";
  const auto key = ydoc::keys::updates(b.prefix, doc);
  std::vector<byte_buffer> valid;
  for (std::uint64_t i = 0; i < 8; ++i) valid.push_back(insert_update(77, i, char_of(77, i)));
  // 0: stdlib, 1: not a byte array, 2: stdlib, 3: a byte array but not an update, 4..9: stdlib and
  // orjson forms.
  std::vector<std::string> elements{stdlib_json(valid[0]), "[1, 2, 300]", stdlib_json(valid[1]), "[1, 2]"};
  for (std::size_t i = 2; i < valid.size(); ++i)
    elements.push_back(i % 2 ? ydoc::format_element(valid[i]) : stdlib_json(valid[i]));
  for (const auto& e : elements) b.raw({"RPUSH", key, e});
  ASSERT_NE(elements[0].find(", "), std::string::npos) << "the stdlib form";

  EXPECT_EQ(b.io.run(s->state(doc)).value(), merge_all(valid));
  EXPECT_EQ(b.io.run(s->get_updates(doc)).value().size(), elements.size() - 1) << "only [1, 2, 300] is unreadable";
  auto report = b.io.run(s->inspect(doc)).value();
  EXPECT_EQ(report.elements, elements.size());
  ASSERT_EQ(report.invalid.size(), 2u);
  EXPECT_EQ(report.invalid[0].index, 1u);
  EXPECT_EQ(report.invalid[1].index, 3u);
  EXPECT_EQ(report.state_bytes, merge_all(valid).size());

  // Compaction merges the oldest 5: the two invalid ones go to the side list, not the snapshot.
  auto rep = b.io.run(s->compact(doc)).value();
  EXPECT_TRUE(rep.replaced);
  EXPECT_EQ(rep.merged, 5u);
  EXPECT_EQ(rep.rejected, 2u);
  EXPECT_EQ(b.raw({"LLEN", key}).integer, static_cast<long long>(elements.size() - 5 + 1));
  const auto side = ydoc::keys::rejected(b.prefix, doc);
  auto rejected = b.raw({"LRANGE", side, "0", "-1"});
  ASSERT_EQ(rejected.elements.size(), 2u);
  EXPECT_EQ(rejected.elements[0].str, "[1, 2, 300]");
  EXPECT_EQ(rejected.elements[1].str, "[1, 2]");
  EXPECT_GT(b.raw({"TTL", side}).integer, 0);
  EXPECT_EQ(view_of(b.io.run(s->state(doc)).value()), view_of(merge_all(valid)));
  report = b.io.run(s->inspect(doc)).value();
  EXPECT_TRUE(report.invalid.empty());
  EXPECT_EQ(report.rejected, 2u);

  // A key of the wrong type is an error, not a crash or an empty document.
  b.raw({"SET", ydoc::keys::updates(b.prefix, "note:str"), "x"});
  EXPECT_FALSE(b.io.run(s->state("note:str")));
}

INSTANTIATE_TEST_SUITE_P(Backends, YdocStore, ::testing::Values(kind::memory, kind::standalone, kind::cluster),
                         param_name);
INSTANTIATE_TEST_SUITE_P(Backends, YdocRedisStore, ::testing::Values(kind::standalone, kind::cluster), param_name);

// YdocManager in Python (redis-py, stdlib json) and owcore on one Redis.
TEST(YdocInterop, PythonWritesOwcoreReadsAndBack) {
  backend b(kind::standalone);
  auto s = b.store();
  test::temp_dir dir("owcore-ydoc-");
  const auto script = std::filesystem::path(OWCORE_SOURCE_DIR) / "tests/integration/python/ydoc_interop.py";
  auto python = [&](std::vector<std::string> args, const std::string& log) {
    std::vector<std::string> argv{"/usr/bin/python3", script.string(), "--port", std::to_string(b.standalone->port()),
                                  "--prefix", b.prefix};
    argv.insert(argv.end(), args.begin(), args.end());
    test::process p(argv, dir.path() / log);
    auto st = p.wait_for_exit(30s);
    if (!st || !WIFEXITED(*st) || WEXITSTATUS(*st) != 0) throw std::runtime_error("python failed:\n" + p.log_tail());
  };

  // Python appends 300 updates and joins; owcore reads and merges them.
  const auto updates = keystrokes(300);
  {
    std::ofstream f(dir.path() / "in.hex");
    for (const auto& u : updates) f << hex(u) << "\n";
  }
  python({"--mode", "write", "--document", "note:interop", "--sid", "py-sid", "--updates-file",
          (dir.path() / "in.hex").string()},
         "write.log");
  const auto key = ydoc::keys::updates(b.prefix, "note:interop");
  EXPECT_EQ(b.raw({"LINDEX", key, "0"}).str, stdlib_json(updates[0])) << "Python wrote the stdlib form";
  EXPECT_EQ(b.io.run(s->get_updates("note:interop")).value(), updates);
  EXPECT_EQ(b.io.run(s->state("note:interop")).value(), merge_all(updates));
  EXPECT_EQ(b.io.run(s->users("note:interop")).value(), (std::vector<std::string>{"py-sid"}));

  // owcore appends 400 more (compaction runs); Python reads every element back as bytes.
  auto more = keystrokes(700);
  more.erase(more.begin(), more.begin() + 300);
  for (const auto& u : more) b.io.run(s->append("note:interop", u)).value();
  io_runner& io = b.io;
  io.run(s->add_user("note:interop", "ow-sid")).value();
  python({"--mode", "read", "--document", "note:interop", "--out", (dir.path() / "out.hex").string()}, "read.log");
  std::vector<byte_buffer> read_back;
  {
    std::ifstream f(dir.path() / "out.hex");
    std::string line;
    while (std::getline(f, line)) {
      byte_buffer u;
      for (std::size_t i = 0; i + 1 < line.size(); i += 2)
        u.push_back(static_cast<std::uint8_t>(std::stoi(line.substr(i, 2), nullptr, 16)));
      read_back.push_back(std::move(u));
    }
  }
  const auto stored = io.run(s->get_updates("note:interop")).value();
  EXPECT_LT(stored.size(), 500u);
  EXPECT_EQ(read_back, stored) << "Python's json.loads -> bytes reads every owcore element, snapshots included";
  auto all = updates;
  all.insert(all.end(), more.begin(), more.end());
  EXPECT_EQ(view_of(merge_all(read_back)), view_of(merge_all(all)));
  {
    std::ifstream f(dir.path() / "out.hex.users");
    std::string a, c;
    f >> a >> c;
    EXPECT_EQ(a, "ow-sid");
    EXPECT_EQ(c, "py-sid");
  }

  // Python's disconnect cleanup walks the reverse index owcore wrote, and the other way round.
  python({"--mode", "disconnect", "--sid", "ow-sid"}, "disconnect1.log");
  EXPECT_EQ(io.run(s->users("note:interop")).value(), (std::vector<std::string>{"py-sid"}));
  EXPECT_TRUE(io.run(s->exists("note:interop")).value());
  EXPECT_EQ(io.run(s->remove_user_from_all_documents("py-sid")).value(), (std::vector<std::string>{"note_interop"}));
  EXPECT_FALSE(io.run(s->exists("note:interop")).value());
  EXPECT_EQ(b.raw({"EXISTS", ydoc::keys::session_documents(b.prefix, "py-sid")}).integer, 0);
}

namespace {

// Runs `owcore ydoc show` in this process with the given environment; returns (status, stdout).
std::pair<int, std::string> ydoc_show(const std::map<std::string, std::string>& env, std::vector<std::string> args) {
  static const char* vars[] = {"REDIS_URL", "WEBSOCKET_MANAGER", "WEBSOCKET_REDIS_URL", "REDIS_KEY_PREFIX",
                               "REDIS_CLUSTER", "WEBSOCKET_REDIS_CLUSTER", "REDIS_SENTINEL_HOSTS"};
  for (const char* v : vars) ::unsetenv(v);
  for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::ostringstream out;
  auto* old = std::cout.rdbuf(out.rdbuf());
  int status = -1;
  try {
    status = owcore::app::run_ydoc_show(static_cast<int>(argv.size()), argv.data());
  } catch (...) {
    std::cout.rdbuf(old);
    throw;
  }
  std::cout.rdbuf(old);
  for (const char* v : vars) ::unsetenv(v);
  return {status, out.str()};
}

}  // namespace

TEST(YdocShow, ReportsADocumentOnTheWsRedis) {
  backend b(kind::standalone);
  auto s = b.store();
  const auto updates = keystrokes(40);
  for (const auto& u : updates) b.io.run(s->append("note:shown", u)).value();
  b.io.run(s->add_user("note:shown", "sid-1")).value();
  const std::map<std::string, std::string> env{{"REDIS_URL", "redis://127.0.0.1:1/0"},
                                               {"WEBSOCKET_MANAGER", "redis"},
                                               {"WEBSOCKET_REDIS_URL", b.standalone->url()},
                                               {"REDIS_KEY_PREFIX", b.prefix}};

  auto [status, out] = ydoc_show(env, {"note:shown"});
  std::cout << out;
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("WS Redis"), std::string::npos) << out;
  EXPECT_NE(out.find("WEBSOCKET_REDIS_URL"), std::string::npos) << out;
  EXPECT_NE(out.find("elements:      40\n"), std::string::npos) << out;
  std::size_t bytes = 0;
  for (const auto& u : updates) bytes += u.size();
  EXPECT_NE(out.find("total bytes:   " + std::to_string(bytes) + " bytes"), std::string::npos) << out;
  EXPECT_NE(out.find("users:         1 (sid-1)"), std::string::npos) << out;
  EXPECT_NE(out.find("merged state:  " + std::to_string(merge_all(updates).size()) + " bytes"), std::string::npos) << out;
  EXPECT_NE(out.find("invalid:       none"), std::string::npos) << out;

  // A missing document is not an error; the storage form names the same document.
  auto [missing_status, missing] = ydoc_show(env, {"note_nothing"});
  EXPECT_EQ(missing_status, 0) << missing;
  EXPECT_NE(missing.find("[0, 0]"), std::string::npos) << missing;

  // An invalid element: exit 1 and the element named.
  b.raw({"RPUSH", ydoc::keys::updates(b.prefix, "note:shown"), "[1, 2]"});
  auto [bad_status, bad] = ydoc_show(env, {"note_shown"});
  std::cout << bad;
  EXPECT_EQ(bad_status, 1) << bad;
  EXPECT_NE(bad.find("#40: invalid update"), std::string::npos) << bad;

  // Without WEBSOCKET_MANAGER=redis it reads the App Redis and says so.
  auto [app_status, app] = ydoc_show({{"REDIS_URL", b.standalone->url()}, {"REDIS_KEY_PREFIX", b.prefix}}, {"note:shown"});
  EXPECT_EQ(app_status, 1) << app;
  EXPECT_NE(app.find("App Redis"), std::string::npos) << app;

  // Unreachable, unconfigured, bad usage: 2.
  EXPECT_EQ(ydoc_show({{"REDIS_URL", "redis://127.0.0.1:1/0"}}, {"note:shown"}).first, 2);
  EXPECT_EQ(ydoc_show({}, {"note:shown"}).first, 2);
  EXPECT_EQ(ydoc_show(env, {}).first, 2);
  EXPECT_EQ(ydoc_show(env, {"a", "b"}).first, 2);
}

}  // namespace ydoc_store_test
