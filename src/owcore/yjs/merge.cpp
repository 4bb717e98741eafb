#include "owcore/yjs/merge.hpp"

#include <algorithm>
#include <limits>

namespace owcore::yjs {
namespace {

// The JS reader order: client descending, clock ascending. JS compares a GC and an Item at the
// same id inconsistently (-1 both ways); the Item goes first here (docs/yjs.md, "Merging").
bool struct_before(const block& a, const block& b) noexcept {
  if (a.client != b.client) return a.client > b.client;
  if (a.clock != b.clock) return a.clock < b.clock;
  return a.kind != b.kind && a.kind == struct_kind::item;
}

// One input's structs with Skips filtered out (`LazyStructReader(decoder, filterSkips=true)`).
struct cursor {
  const block* cur;
  const block* end;

  bool done() const noexcept { return cur == end; }
  void skip_skips() noexcept {
    while (cur != end && cur->kind == struct_kind::skip) ++cur;
  }
  void advance() noexcept {
    ++cur;
    skip_skips();
  }
};

// The right part of `b` from unit `diff` on (`sliceStruct`). 0 < diff < b.length.
block slice_block(const block& b, std::uint64_t diff) {
  block s = b;
  s.clock += diff;
  s.length -= diff;
  if (b.kind != struct_kind::item) return s;
  s.has_origin = true;
  s.origin = {b.client, s.clock - 1};
  switch (b.ref) {
    case content_ref::string: {
      std::uint64_t units = diff;
      if (s.fffd_prefix) {  // the U+FFFD is one unit and is dropped first
        s.fffd_prefix = false;
        --units;
      }
      bool split = false;
      const std::size_t at = lib0::utf8_offset_of_unit(s.content, units, split);
      s.content = s.content.subspan(at);
      s.fffd_prefix = split;  // ContentString.splice: U+FFFD replaces a split surrogate pair
      return s;
    }
    case content_ref::json: {
      lib0::reader r(s.content);
      for (std::uint64_t i = 0; i < diff; ++i) r.read_var_uint8_array();
      s.content = s.content.subspan(r.pos());
      return s;
    }
    case content_ref::any: {
      lib0::reader r(s.content);
      for (std::uint64_t i = 0; i < diff; ++i) r.skip_any(std::numeric_limits<std::size_t>::max());
      s.content = s.content.subspan(r.pos());
      return s;
    }
    default:  // deleted: the length is all; other contents have length 1 and are never sliced
      return s;
  }
}

block make_skip(std::uint64_t client, std::uint64_t clock, std::uint64_t length) {
  block s;
  s.kind = struct_kind::skip;
  s.client = client;
  s.clock = clock;
  s.length = length;
  return s;
}

// Restores the reader order after the first reader moved (or finished). Every other reader is
// unchanged and still sorted, so a stable re-sort equals removing the first reader and inserting
// it before the first reader that does not sort before it: O(log n) instead of JS's full sort.
void reposition_first(std::vector<cursor>& rs) {
  const cursor moved = rs.front();
  if (moved.done()) {
    rs.erase(rs.begin());
    return;
  }
  const auto it = std::partition_point(rs.begin() + 1, rs.end(), [&](const cursor& c) {
    return struct_before(*c.cur, *moved.cur);
  });
  std::move(rs.begin() + 1, it, rs.begin());
  *(it - 1) = moved;
}

bool squashable(const block& b) {
  return b.kind == struct_kind::item &&
         (b.ref == content_ref::string || b.ref == content_ref::any || b.ref == content_ref::json ||
          b.ref == content_ref::deleted);
}

// Whether `next` continues `prev` so that a receiver splitting the squashed item re-derives
// next's origin and right origin exactly (docs/yjs.md, "Compaction", squash).
bool continues(const block& prev, const block& next) {
  return next.kind == struct_kind::item && next.ref == prev.ref && next.client == prev.client &&
         next.clock == prev.end() && next.has_origin &&
         next.origin == struct_id{prev.client, prev.end() - 1} &&
         next.has_right_origin == prev.has_right_origin &&
         (!next.has_right_origin || next.right_origin == prev.right_origin);
}

}  // namespace

std::vector<delete_range> merge_delete_sets(std::vector<delete_range> ranges) {
  std::stable_sort(ranges.begin(), ranges.end(), [](const delete_range& a, const delete_range& b) {
    return a.client != b.client ? a.client > b.client : a.clock < b.clock;
  });
  std::vector<delete_range> out;
  out.reserve(ranges.size());
  for (const delete_range& r : ranges) {
    if (!out.empty() && out.back().client == r.client &&
        out.back().clock + out.back().length >= r.clock) {
      delete_range& left = out.back();
      left.length = std::max(left.length, r.clock + r.length - left.clock);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

update merge_decoded(std::span<const update> updates) {
  update out;
  std::vector<cursor> rs;
  rs.reserve(updates.size());
  std::size_t total = 0;
  std::size_t total_deletes = 0;
  for (const update& u : updates) {
    cursor c{u.blocks.data(), u.blocks.data() + u.blocks.size()};
    c.skip_skips();
    if (!c.done()) rs.push_back(c);
    total += u.blocks.size();
    total_deletes += u.deletes.size();
  }
  std::stable_sort(rs.begin(), rs.end(),
                   [](const cursor& a, const cursor& b) { return struct_before(*a.cur, *b.cur); });
  out.blocks.reserve(total);

  // `w` is the pending output struct (`currWrite`); the steps follow docs/yjs.md, "The merge loop".
  block w;
  bool have_w = false;
  while (!rs.empty()) {
    cursor& r = rs.front();
    const std::uint64_t first = r.cur->client;
    if (have_w) {
      bool iterated = false;
      // (i) skip what W already covers. The client test only holds for descending inputs,
      // which regrouping guarantees.
      while (!r.done() && r.cur->end() <= w.end() && r.cur->client >= w.client) {
        r.advance();
        iterated = true;
      }
      // (ii) another reader may now sort first.
      if (r.done() || r.cur->client != first || (iterated && r.cur->clock > w.end())) {
        reposition_first(rs);
        continue;
      }
      const block& c = *r.cur;
      if (first != w.client) {  // (iii) a new client
        out.blocks.push_back(w);
        w = c;
        r.advance();
      } else if (w.end() < c.clock) {  // (iv) a gap: fill it with a Skip
        out.blocks.push_back(w);
        w = make_skip(first, w.end(), c.clock - w.end());
      } else {  // (v) overlap or adjacency
        const std::uint64_t diff = w.end() - c.clock;
        block next = c;
        if (diff > 0) {
          if (w.kind == struct_kind::skip) {
            w.length -= diff;
          } else {
            next = slice_block(c, diff);
          }
        }
        // Only GC+GC (and Skip+Skip) merge; decoded Items never do (`this.right === right`).
        if (w.kind != struct_kind::item && w.kind == next.kind) {
          w.length += next.length;
        } else {
          out.blocks.push_back(w);
          w = next;
          r.advance();
        }
      }
    } else {
      w = *r.cur;
      have_w = true;
      r.advance();
    }
    // (e) chain the reader's structs that continue W exactly.
    while (!r.done() && r.cur->client == first && r.cur->clock == w.end()) {
      out.blocks.push_back(w);
      w = *r.cur;
      r.advance();
    }
    reposition_first(rs);
  }
  if (have_w) out.blocks.push_back(w);

  std::vector<delete_range> all;
  all.reserve(total_deletes);
  for (const update& u : updates) all.insert(all.end(), u.deletes.begin(), u.deletes.end());
  out.deletes = merge_delete_sets(std::move(all));
  return out;
}

void strip_deleted(update& u) {
  const auto before = [](const delete_range& a, const delete_range& b) {
    return a.client != b.client ? a.client > b.client : a.clock < b.clock;
  };
  for (block& b : u.blocks) {
    if (b.kind != struct_kind::item || b.ref == content_ref::type || b.ref == content_ref::deleted) {
      continue;
    }
    const delete_range key{b.client, b.clock, 0};
    auto it = std::upper_bound(u.deletes.begin(), u.deletes.end(), key, before);
    if (it == u.deletes.begin()) continue;
    --it;
    if (it->client != b.client || it->clock > b.clock || it->clock + it->length < b.end()) continue;
    b.ref = content_ref::deleted;
    b.content = {};
    b.content2 = {};
    b.fffd_prefix = false;
    b.type_ref = 0;
  }
}

void squash(update& u) {
  std::vector<block> out;
  out.reserve(u.blocks.size());
  for (std::size_t i = 0; i < u.blocks.size();) {
    std::size_t j = i + 1;
    if (squashable(u.blocks[i])) {
      while (j < u.blocks.size() && continues(u.blocks[j - 1], u.blocks[j])) ++j;
    }
    block b = u.blocks[i];
    if (j - i > 1) {
      b.length = u.blocks[j - 1].end() - b.clock;
      if (b.ref != content_ref::deleted) {
        byte_buffer bytes;
        for (std::size_t k = i; k < j; ++k) {
          if (u.blocks[k].fffd_prefix) bytes.insert(bytes.end(), {0xef, 0xbf, 0xbd});
          lib0::write_bytes(bytes, u.blocks[k].content);
        }
        u.storage.push_back(std::move(bytes));
        b.content = u.storage.back();
        b.fffd_prefix = false;
      }
    }
    out.push_back(b);
    i = j;
  }
  u.blocks = std::move(out);
}

result<byte_buffer> merge_updates(std::span<const byte_view> updates, const merge_options& options) {
  if (updates.empty()) return empty_update();
  std::vector<update> decoded;
  decoded.reserve(updates.size());
  std::size_t structs = options.limits.max_structs;
  std::size_t ranges = options.limits.max_delete_ranges;
  for (std::size_t i = 0; i < updates.size(); ++i) {
    auto u = decode_update(updates[i], options.limits, structs, ranges);
    if (!u) {
      decode_error e = u.error();
      e.input = i;
      return e;
    }
    decoded.push_back(std::move(*u));
  }
  if (updates.size() == 1 && !options.squash && !options.strip_deleted) {
    return byte_buffer(updates[0].begin(), updates[0].end());
  }
  update merged = merge_decoded(decoded);
  if (options.strip_deleted) strip_deleted(merged);
  if (options.squash) squash(merged);
  return encode_update(merged);
}

}  // namespace owcore::yjs
