// Unit tests for the Yjs document store's memory backend, its element codec and key schema
// (docs/wire.md, "Yjs documents"). The Redis backend runs the same behaviours in
// tests/integration/ydoc_store_test.cpp.
#include "owcore/coord/ydoc/document_store.hpp"
#include "owcore/coord/ydoc/keys.hpp"
#include "owcore/yjs/merge.hpp"
#include "owcore/yjs/update.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace ydoc_store_test {

namespace asio = boost::asio;
namespace net = owcore::net;
namespace yjs = owcore::yjs;
namespace ydoc = owcore::coord::ydoc;
using yjs::byte_buffer;

namespace {

template <class T>
T run(net::awaitable<T> a) {
  asio::io_context io;
  auto fut = asio::co_spawn(io, std::move(a), asio::use_future);
  io.run();
  return fut.get();
}

// --- Building valid v1 updates (docs/yjs.md) --------------------------------------------------

void var_uint(byte_buffer& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(0x80 | (v & 0x7f)));
    v >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(v));
}

void var_string(byte_buffer& out, std::string_view s) {
  var_uint(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

// One ContentString item of `client` at `clock` in root text "t": after (client, clock - 1) when
// clock > 0, optionally before `right`.
byte_buffer insert_update(std::uint64_t client, std::uint64_t clock, std::string_view text,
                          std::optional<yjs::struct_id> right = std::nullopt) {
  byte_buffer u;
  var_uint(u, 1);  // one client block
  var_uint(u, 1);  // one struct
  var_uint(u, client);
  var_uint(u, clock);
  std::uint8_t info = 4;
  if (clock > 0) info |= 0x80;
  if (right) info |= 0x40;
  u.push_back(info);
  if (clock > 0) {
    var_uint(u, client);
    var_uint(u, clock - 1);
  }
  if (right) {
    var_uint(u, right->client);
    var_uint(u, right->clock);
  }
  if (clock == 0 && !right) {
    var_uint(u, 1);  // parent is a root type
    var_string(u, "t");
  }
  var_string(u, text);
  var_uint(u, 0);  // empty delete set
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

// A keystroke session of several clients: inserts after their own previous character (sometimes
// before another client's first one), and every 7th operation deletes two earlier characters.
std::vector<byte_buffer> keystrokes(std::size_t count, std::vector<std::uint64_t> clients) {
  std::vector<byte_buffer> out;
  std::map<std::uint64_t, std::uint64_t> clock;
  for (std::size_t i = 0; i < count; ++i) {
    const auto c = clients[i % clients.size()];
    auto& k = clock[c];
    if (i % 7 == 6 && k >= 4) {
      out.push_back(delete_update(c, k - 4, 2));
      continue;
    }
    std::optional<yjs::struct_id> right;
    if (i % 5 == 0 && clients.size() > 1) right = yjs::struct_id{clients[(i + 1) % clients.size()], 0};
    out.push_back(insert_update(c, k, std::string(1, static_cast<char>('a' + i % 26)), right));
    ++k;
  }
  return out;
}

// --- A semantic view of an update: what a receiver re-derives per clock unit --------------------

struct unit {
  std::optional<std::pair<std::uint64_t, std::uint64_t>> origin, right;
  std::string parent;  // root name, for units without origins
  int ch = -1;         // ASCII content; -1 = deleted content (or inside the delete set)
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
  if (!u) throw std::runtime_error("undecodable: " + u.error().message());
  for (const auto& d : yjs::merge_delete_sets(u->deletes))
    for (std::uint64_t c = d.clock; c < d.clock + d.length; ++c) v.deleted.insert({d.client, c});
  for (const auto& b : u->blocks) {
    if (b.kind == yjs::struct_kind::skip) {
      ++v.skips;
      continue;
    }
    for (std::uint64_t i = 0; i < b.length; ++i) {
      unit x;
      if (b.kind == yjs::struct_kind::item) {
        if (i > 0) x.origin = std::pair{b.client, b.clock + i - 1};
        else if (b.has_origin) x.origin = std::pair{b.origin.client, b.origin.clock};
        if (b.has_right_origin) x.right = std::pair{b.right_origin.client, b.right_origin.clock};
        if (i == 0 && b.parent == yjs::parent_kind::root) x.parent.assign(b.parent_name.begin(), b.parent_name.end());
        if (b.ref == yjs::content_ref::string) x.ch = b.content[i];
      }
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

}  // namespace

TEST(YdocKeys, MatchYdocManager) {
  EXPECT_EQ(ydoc::keys::updates("open-webui", "note:abc"), "open-webui:ydoc:documents:note_abc:updates");
  EXPECT_EQ(ydoc::keys::users("open-webui", "note:abc"), "open-webui:ydoc:documents:note_abc:users");
  EXPECT_EQ(ydoc::keys::session_documents("P", "sid1"), "P:ydoc:documents:session:sid1:documents");
  EXPECT_EQ(ydoc::keys::rejected("P", "a:b"), "P:ydoc:documents:a_b:rejected");
  EXPECT_EQ(ydoc::keys::storage_id("note:a:b"), "note_a_b");
  EXPECT_EQ(ydoc::keys::storage_id("note_a_b"), "note_a_b");
  EXPECT_EQ(ydoc::keys::authorization_id("note_abc"), "note:abc");
  EXPECT_EQ(ydoc::keys::authorization_id("note_a_b"), "note:a_b");
  EXPECT_EQ(ydoc::keys::authorization_id("note:abc"), "note:abc");
  EXPECT_EQ(ydoc::keys::authorization_id("chat_x"), "chat_x");
  EXPECT_EQ(ydoc::keys::authorization_id("xnote_y"), "xnote_y");
}

TEST(YdocElement, WritesCompactAndReadsBothPythonForms) {
  const byte_buffer b{0, 1, 127, 128, 255};
  EXPECT_EQ(ydoc::format_element(b), "[0,1,127,128,255]");
  EXPECT_EQ(ydoc::format_element(byte_buffer{}), "[]");
  const char* reason = "";
  for (std::string_view text : {"[0, 1, 127, 128, 255]", "[0,1,127,128,255]", " [ 0 ,1,\n127 , 128,255 ] "}) {
    auto parsed = ydoc::parse_element(text, reason);
    ASSERT_TRUE(parsed) << text;
    EXPECT_EQ(*parsed, b) << text;
  }
  for (std::string_view bad : {"", "[256]", "[-1]", "[1.0]", "[01]", "{}", "[1,]", "[1 2]", "NaN", "[1]x", "\"[1]\"", "[1e2]"}) {
    EXPECT_FALSE(ydoc::parse_element(bad, reason)) << bad;
  }
}

TEST(YdocMemoryStore, EmptyDocumentStateIsExactlyZeroZero) {
  auto store = ydoc::make_memory_document_store();
  EXPECT_EQ(run(store->state("note:missing")).value(), (byte_buffer{0, 0}));
  EXPECT_FALSE(run(store->exists("note:missing")).value());
  EXPECT_TRUE(run(store->get_updates("note:missing")).value().empty());
  EXPECT_TRUE(run(store->users("note:missing")).value().empty());
}

TEST(YdocMemoryStore, AppendValidatesFirstAndRefusesInvalidUpdates) {
  ydoc::store_options opts;
  opts.max_update_bytes = 64;
  auto store = ydoc::make_memory_document_store(opts);
  auto bad = run(store->append("note:a", byte_buffer{1, 2, 3}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), ydoc::error::invalid_update);
  // A clock above pycrdt's u32 bound (docs/yjs.md) is refused too.
  auto huge_clock = run(store->append("note:a", insert_update(1, std::uint64_t{1} << 33, "x")));
  EXPECT_EQ(huge_clock.error(), ydoc::error::invalid_update);
  auto big = run(store->append("note:a", insert_update(1, 0, std::string(100, 'x'))));
  EXPECT_EQ(big.error(), ydoc::error::update_too_large);
  EXPECT_FALSE(run(store->exists("note:a")).value()) << "a refused update must not create the document";
  EXPECT_EQ(run(store->append("", insert_update(1, 0, "x"))).error(), ydoc::error::invalid_argument);

  const auto u1 = insert_update(7, 0, "h"), u2 = insert_update(7, 1, "i");
  EXPECT_EQ(run(store->append("note:a", u1)).value(), 1u);
  EXPECT_TRUE(run(store->exists("note:a")).value());
  EXPECT_EQ(run(store->state("note:a")).value(), u1) << "one element is served as it is";
  EXPECT_EQ(run(store->append("note_a", u2)).value(), 2u) << "client and storage forms name one document";
  EXPECT_EQ(run(store->get_updates("note:a")).value(), (std::vector<byte_buffer>{u1, u2}));
  EXPECT_EQ(run(store->state("note:a")).value(), merge_all({u1, u2}));
}

TEST(YdocMemoryStore, PresenceReverseIndexAndClear) {
  auto store = ydoc::make_memory_document_store();
  run(store->append("note:1", insert_update(1, 0, "x"))).value();
  run(store->append("note:2", insert_update(2, 0, "y"))).value();
  run(store->add_user("note:1", "s1")).value();
  run(store->add_user("note:1", "s2")).value();
  run(store->add_user("note:2", "s1")).value();
  EXPECT_EQ(run(store->users("note_1")).value(), (std::vector<std::string>{"s1", "s2"}));

  // s1 disconnects: note:2 loses its last user and is cleared; note:1 keeps s2.
  EXPECT_EQ(run(store->remove_user_from_all_documents("s1")).value(), (std::vector<std::string>{"note_2"}));
  EXPECT_FALSE(run(store->exists("note:2")).value());
  EXPECT_TRUE(run(store->exists("note:1")).value());
  EXPECT_EQ(run(store->users("note:1")).value(), (std::vector<std::string>{"s2"}));
  EXPECT_TRUE(run(store->remove_user_from_all_documents("s1")).value().empty()) << "the index is gone";

  // remove_user leaves the (empty) document for the caller to clear.
  run(store->remove_user("note:1", "s2")).value();
  EXPECT_TRUE(run(store->users("note:1")).value().empty());
  EXPECT_TRUE(run(store->exists("note:1")).value());
  EXPECT_TRUE(run(store->remove_user_from_all_documents("s2")).value().empty());
  run(store->clear("note:1")).value();
  EXPECT_FALSE(run(store->exists("note:1")).value());
  EXPECT_EQ(run(store->state("note:1")).value(), (byte_buffer{0, 0}));
}

TEST(YdocMemoryStore, CompactionAtPythonsThresholdKeepsTheState) {
  auto store = ydoc::make_memory_document_store();
  const auto updates = keystrokes(1300, {1001, 2002, 3003});
  for (std::size_t i = 0; i < 499; ++i) run(store->append("note:c", updates[i])).value();
  EXPECT_EQ(run(store->get_updates("note:c")).value().size(), 499u) << "no compaction below 500";
  const auto before = run(store->state("note:c")).value();
  EXPECT_EQ(before, merge_all({updates.begin(), updates.begin() + 499}));

  // The 500th append compacts the oldest 250 into one snapshot.
  EXPECT_EQ(run(store->append("note:c", updates[499])).value(), 500u);
  const auto stored = run(store->get_updates("note:c")).value();
  ASSERT_EQ(stored.size(), 251u);
  EXPECT_EQ(std::vector<byte_buffer>(stored.begin() + 1, stored.end()),
            std::vector<byte_buffer>(updates.begin() + 250, updates.begin() + 500))
      << "everything after the merged prefix is kept as it was";
  const auto oracle = merge_all({updates.begin(), updates.begin() + 500});
  EXPECT_EQ(view_of(run(store->state("note:c")).value()), view_of(oracle));
  EXPECT_LT(stored[0].size(), merge_all({updates.begin(), updates.begin() + 250}).size())
      << "levels B and C shrink the snapshot below the plain merge";

  // Keep going: the list stays rolling-compacted and the state stays the state of everything.
  for (std::size_t i = 500; i < updates.size(); ++i) {
    const auto n = run(store->append("note:c", updates[i])).value();
    EXPECT_LT(n, 501u);
  }
  const auto final_state = run(store->state("note:c")).value();
  const auto v = view_of(final_state);
  EXPECT_EQ(v, view_of(merge_all(updates)));
  EXPECT_EQ(v.skips, 0u);
  std::size_t inserts = 0;
  for (const auto& u : updates) inserts += u[0] == 1 ? 1 : 0;
  EXPECT_EQ(v.units.size(), inserts) << "one unit per inserted character";
  EXPECT_GT(v.deleted.size(), 100u);
  auto report = run(store->inspect("note:c")).value();
  EXPECT_TRUE(report.exists);
  EXPECT_TRUE(report.invalid.empty());
  EXPECT_EQ(report.state_bytes, final_state.size());
  EXPECT_LT(report.elements, 500u);
}

TEST(YdocMemoryStore, ExplicitCompactionNeedsFourElements) {
  auto store = ydoc::make_memory_document_store();
  for (std::uint64_t i = 0; i < 3; ++i) run(store->append("d", insert_update(5, i, "x"))).value();
  EXPECT_FALSE(run(store->compact("d")).value().replaced);
  run(store->append("d", insert_update(5, 3, "y"))).value();
  auto rep = run(store->compact("d")).value();
  EXPECT_TRUE(rep.replaced);
  EXPECT_EQ(rep.merged, 2u);
  EXPECT_EQ(run(store->get_updates("d")).value().size(), 3u);
}

TEST(YdocMemoryStore, ConcurrentAppendsFromManyThreadsLoseNothing) {
  ydoc::store_options opts;
  opts.compaction_threshold = 16;  // compact all the time
  auto store = ydoc::make_memory_document_store(opts);
  asio::io_context io(4);
  constexpr int writers = 8, per_writer = 150;
  std::vector<std::future<void>> done;
  for (int w = 0; w < writers; ++w) {
    done.push_back(asio::co_spawn(
        io,
        [store, w]() -> net::awaitable<void> {
          for (int i = 0; i < per_writer; ++i) {
            auto u = insert_update(100 + static_cast<std::uint64_t>(w), static_cast<std::uint64_t>(i),
                                   std::string(1, static_cast<char>('a' + (i + w) % 26)));
            auto r = co_await store->append("note:race", std::move(u));
            if (!r) throw std::runtime_error(r.error().message());
          }
        },
        asio::use_future));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([&] { io.run(); });
  for (auto& t : threads) t.join();
  for (auto& f : done) f.get();
  const auto v = view_of(run(store->state("note:race")).value());
  EXPECT_EQ(v.skips, 0u);
  for (int w = 0; w < writers; ++w)
    for (int i = 0; i < per_writer; ++i) {
      auto it = v.units.find({100 + static_cast<std::uint64_t>(w), static_cast<std::uint64_t>(i)});
      ASSERT_NE(it, v.units.end()) << "writer " << w << " update " << i << " lost";
      EXPECT_EQ(it->second.ch, 'a' + (i + w) % 26);
    }
  EXPECT_LT(run(store->get_updates("note:race")).value().size(), 16u);
}

TEST(YdocMergeValid, SkipsInvalidUpdatesAndReportsThem) {
  const auto a = insert_update(1, 0, "a"), b = insert_update(1, 1, "b");
  std::vector<ydoc::invalid_element> invalid;
  auto merged = ydoc::merge_valid({a, byte_buffer{9, 9}, b, byte_buffer{}}, &invalid);
  ASSERT_TRUE(merged);
  EXPECT_EQ(*merged, merge_all({a, b}));
  ASSERT_EQ(invalid.size(), 2u);
  EXPECT_EQ(invalid[0].index, 1u);
  EXPECT_EQ(invalid[1].index, 3u);
  EXPECT_EQ(ydoc::merge_valid({}).value(), (byte_buffer{0, 0}));
  EXPECT_EQ(ydoc::merge_valid({byte_buffer{1}}).value(), (byte_buffer{0, 0}));
}

}  // namespace ydoc_store_test
