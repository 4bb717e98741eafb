#include "owcore/yjs/update.hpp"

#include <algorithm>

namespace owcore::yjs {
namespace {

constexpr std::uint8_t flag_origin = 0x80;
constexpr std::uint8_t flag_right_origin = 0x40;
constexpr std::uint8_t flag_parent_sub = 0x20;
constexpr std::uint8_t ref_mask = 0x1f;
constexpr std::uint8_t skip_info = 10;

class decoder {
 public:
  decoder(byte_view data, const decode_limits& limits, std::size_t& structs, std::size_t& ranges)
      : r_(data), limits_(limits), struct_budget_(structs), range_budget_(ranges) {}

  result<update> run() {
    if (r_.data().size() > limits_.max_update_size) {
      r_.fail(error::limit_exceeded, 0, "update larger than max_update_size");
      return r_.failure();
    }
    update u;
    read_structs(u);
    if (r_.ok()) read_delete_set(u);
    if (!r_.ok()) return r_.failure();
    regroup(u);
    return u;
  }

 private:
  bool check_clock(std::uint64_t clock, std::size_t at) {
    if (clock > limits_.max_clock) return r_.fail(error::clock_overflow, at, context_);
    return true;
  }

  struct_id read_id() {
    const std::size_t at = r_.pos();
    struct_id id;
    id.client = r_.read_var_uint();
    id.clock = r_.read_var_uint();
    if (r_.ok()) check_clock(id.clock, at);
    return id;
  }

  void read_json_text(byte_view text, std::size_t at) {
    if (r_.ok() && !lib0::is_valid_json(text, limits_.max_depth)) {
      r_.fail(error::invalid_json, at, context_);
    }
  }

  void read_structs(update& u) {
    r_.set_context(context_ = "client block count");
    // A client block needs at least 3 bytes (count, client, clock).
    const std::uint64_t num_blocks = r_.read_count(3);
    for (std::uint64_t bi = 0; bi < num_blocks && r_.ok(); ++bi) {
      r_.set_context(context_ = "client block header");
      // Each struct needs at least 2 bytes (info plus a length or content).
      const std::uint64_t num_structs = r_.read_count(2);
      const std::uint64_t client = r_.read_var_uint();
      const std::size_t clock_at = r_.pos();
      std::uint64_t clock = r_.read_var_uint();
      if (!r_.ok() || !check_clock(clock, clock_at)) return;
      if (num_structs > struct_budget_) {
        r_.fail(error::limit_exceeded, clock_at, "more structs than max_structs");
        return;
      }
      struct_budget_ -= static_cast<std::size_t>(num_structs);
      for (std::uint64_t si = 0; si < num_structs && r_.ok(); ++si) {
        const std::size_t at = r_.pos();
        block b;
        b.client = client;
        b.clock = clock;
        read_struct(b);
        if (!r_.ok()) return;
        if (b.length > limits_.max_clock - clock) {
          r_.fail(error::clock_overflow, at, "struct ends above max_clock");
          return;
        }
        clock += b.length;
        if (b.length > 0) u.blocks.push_back(b);  // yrs drops zero-length structs too
      }
    }
  }

  void read_struct(block& b) {
    const std::size_t info_at = r_.pos();
    r_.set_context(context_ = "struct info");
    const std::uint8_t info = r_.read_u8();
    if (!r_.ok()) return;
    const std::uint8_t ref = info & ref_mask;
    if (info == skip_info) {
      b.kind = struct_kind::skip;
      r_.set_context(context_ = "Skip length");
      b.length = r_.read_var_uint();
      return;
    }
    if (ref == 0) {  // the JS lazy reader ignores flag bits on GC
      b.kind = struct_kind::gc;
      r_.set_context(context_ = "GC length");
      b.length = r_.read_var_uint();
      return;
    }
    if (ref > 9) {
      r_.fail(error::invalid_struct_ref, info_at, ref == skip_info ? "Skip with flag bits" : "struct info");
      return;
    }
    b.kind = struct_kind::item;
    b.ref = static_cast<content_ref>(ref);
    r_.set_context(context_ = "item origin");
    if (info & flag_origin) {
      b.has_origin = true;
      b.origin = read_id();
    }
    if (info & flag_right_origin) {
      b.has_right_origin = true;
      r_.set_context(context_ = "item right origin");
      b.right_origin = read_id();
    }
    if (!b.has_origin && !b.has_right_origin) {
      r_.set_context(context_ = "item parent");
      if (r_.read_var_uint() == 1) {
        b.parent = parent_kind::root;
        b.parent_name = r_.read_var_string().utf8;
      } else {
        b.parent = parent_kind::item;
        b.parent_id = read_id();
      }
      if (info & flag_parent_sub) {
        r_.set_context(context_ = "item parentSub");
        b.has_parent_sub = true;
        b.parent_sub = r_.read_var_string().utf8;
      }
    }
    if (r_.ok()) read_content(b);
  }

  void read_content(block& b) {
    const std::size_t at = r_.pos();
    switch (b.ref) {
      case content_ref::deleted:
        r_.set_context(context_ = "ContentDeleted");
        b.length = r_.read_var_uint();
        return;
      case content_ref::json: {
        r_.set_context(context_ = "ContentJSON");
        const std::uint64_t n = r_.read_count(1);
        const std::size_t start = r_.pos();
        for (std::uint64_t i = 0; i < n && r_.ok(); ++i) {
          const std::size_t el = r_.pos();
          const byte_view text = r_.read_var_string().utf8;
          static constexpr std::uint8_t undefined_text[] = {'u', 'n', 'd', 'e', 'f', 'i', 'n', 'e', 'd'};
          if (!std::ranges::equal(text, undefined_text)) read_json_text(text, el);
        }
        b.content = r_.data().subspan(start, r_.pos() - start);
        b.length = n;
        return;
      }
      case content_ref::binary:
        r_.set_context(context_ = "ContentBinary");
        b.content = r_.read_var_uint8_array();
        b.length = 1;
        return;
      case content_ref::string: {
        r_.set_context(context_ = "ContentString");
        const lib0::string_span s = r_.read_var_string();
        b.content = s.utf8;
        b.length = s.utf16_length;
        return;
      }
      case content_ref::embed:
        r_.set_context(context_ = "ContentEmbed");
        b.content = r_.read_var_string().utf8;
        read_json_text(b.content, at);
        b.length = 1;
        return;
      case content_ref::format: {
        r_.set_context(context_ = "ContentFormat");
        b.content = r_.read_var_string().utf8;
        const std::size_t value_at = r_.pos();
        b.content2 = r_.read_var_string().utf8;
        read_json_text(b.content2, value_at);
        b.length = 1;
        return;
      }
      case content_ref::type: {
        r_.set_context(context_ = "ContentType");
        const std::uint64_t type_ref = r_.read_var_uint();
        if (!r_.ok()) return;
        if (type_ref > 6) {
          r_.fail(error::invalid_type_ref, at, context_);
          return;
        }
        b.type_ref = static_cast<std::uint8_t>(type_ref);
        if (type_ref == 3 || type_ref == 5) b.content = r_.read_var_string().utf8;  // XML name
        b.length = 1;
        return;
      }
      case content_ref::any: {
        r_.set_context(context_ = "ContentAny");
        const std::uint64_t n = r_.read_count(1);
        const std::size_t start = r_.pos();
        for (std::uint64_t i = 0; i < n && r_.ok(); ++i) r_.skip_any(limits_.max_depth);
        b.content = r_.data().subspan(start, r_.pos() - start);
        b.length = n;
        return;
      }
      case content_ref::doc: {
        r_.set_context(context_ = "ContentDoc");
        b.content = r_.read_var_string().utf8;
        const std::size_t opts_at = r_.pos();
        if (r_.ok() && r_.remaining() > 0 && r_.data()[opts_at] != 118) {
          // createDocFromOpts reads opts.shouldLoad: JS throws on null/undefined; require the
          // object yjs always writes.
          r_.fail(error::invalid_doc_options, opts_at, context_);
          return;
        }
        r_.skip_any(limits_.max_depth);
        b.content2 = r_.data().subspan(opts_at, r_.pos() - opts_at);
        b.length = 1;
        return;
      }
    }
  }

  void read_delete_set(update& u) {
    r_.set_context(context_ = "delete set client count");
    const std::uint64_t num_clients = r_.read_count(2);
    for (std::uint64_t ci = 0; ci < num_clients && r_.ok(); ++ci) {
      r_.set_context(context_ = "delete set client");
      const std::uint64_t client = r_.read_var_uint();
      const std::size_t count_at = r_.pos();
      const std::uint64_t num_ranges = r_.read_count(2);
      if (!r_.ok()) return;
      if (num_ranges > range_budget_) {
        r_.fail(error::limit_exceeded, count_at, "more delete ranges than max_delete_ranges");
        return;
      }
      range_budget_ -= static_cast<std::size_t>(num_ranges);
      r_.set_context(context_ = "delete set range");
      for (std::uint64_t i = 0; i < num_ranges && r_.ok(); ++i) {
        const std::size_t at = r_.pos();
        const std::uint64_t clock = r_.read_var_uint();
        const std::uint64_t len = r_.read_var_uint();
        if (!r_.ok()) return;
        if (clock > limits_.max_clock || len > limits_.max_clock - clock) {
          r_.fail(error::clock_overflow, at, context_);
          return;
        }
        u.deletes.push_back({client, clock, len});
      }
    }
  }

  // Client blocks out of descending order, or repeated, are regrouped (docs/yjs.md, "Merging"). The
  // common well-formed case is detected in one pass and left alone.
  static void regroup(update& u) {
    const auto before = [](const block& a, const block& b) {
      return a.client != b.client ? a.client > b.client : a.clock < b.clock;
    };
    if (!std::is_sorted(u.blocks.begin(), u.blocks.end(), before)) {
      std::stable_sort(u.blocks.begin(), u.blocks.end(), before);
    }
  }

  lib0::reader r_;
  const decode_limits& limits_;
  std::size_t& struct_budget_;
  std::size_t& range_budget_;
  const char* context_ = "";
};

}  // namespace

result<update> decode_update(byte_view data, const decode_limits& limits) {
  std::size_t structs = limits.max_structs;
  std::size_t ranges = limits.max_delete_ranges;
  return decode_update(data, limits, structs, ranges);
}

result<update> decode_update(byte_view data, const decode_limits& limits,
                             std::size_t& struct_budget, std::size_t& range_budget) {
  return decoder(data, limits, struct_budget, range_budget).run();
}

void encode_block(byte_buffer& out, const block& b) {
  using lib0::write_var_uint;
  using lib0::write_var_bytes;
  switch (b.kind) {
    case struct_kind::gc:
      out.push_back(0);
      write_var_uint(out, b.length);
      return;
    case struct_kind::skip:
      out.push_back(skip_info);
      write_var_uint(out, b.length);
      return;
    case struct_kind::item: break;
  }
  const auto info = static_cast<std::uint8_t>(static_cast<std::uint8_t>(b.ref) |
                                              (b.has_origin ? flag_origin : 0) |
                                              (b.has_right_origin ? flag_right_origin : 0) |
                                              (b.has_parent_sub ? flag_parent_sub : 0));
  out.push_back(info);
  if (b.has_origin) {
    write_var_uint(out, b.origin.client);
    write_var_uint(out, b.origin.clock);
  }
  if (b.has_right_origin) {
    write_var_uint(out, b.right_origin.client);
    write_var_uint(out, b.right_origin.clock);
  }
  if (!b.has_origin && !b.has_right_origin) {
    if (b.parent == parent_kind::root) {
      out.push_back(1);
      write_var_bytes(out, b.parent_name);
    } else {
      out.push_back(0);
      write_var_uint(out, b.parent_id.client);
      write_var_uint(out, b.parent_id.clock);
    }
    if (b.has_parent_sub) write_var_bytes(out, b.parent_sub);
  }
  switch (b.ref) {
    case content_ref::deleted:
      write_var_uint(out, b.length);
      return;
    case content_ref::json:
    case content_ref::any:
      write_var_uint(out, b.length);
      lib0::write_bytes(out, b.content);
      return;
    case content_ref::string:
      if (b.fffd_prefix) {
        write_var_uint(out, b.content.size() + 3);
        out.insert(out.end(), {0xef, 0xbf, 0xbd});
        lib0::write_bytes(out, b.content);
      } else {
        write_var_bytes(out, b.content);
      }
      return;
    case content_ref::binary:
    case content_ref::embed:
      write_var_bytes(out, b.content);
      return;
    case content_ref::format:
      write_var_bytes(out, b.content);
      write_var_bytes(out, b.content2);
      return;
    case content_ref::type:
      write_var_uint(out, b.type_ref);
      if (b.type_ref == 3 || b.type_ref == 5) write_var_bytes(out, b.content);
      return;
    case content_ref::doc:
      write_var_bytes(out, b.content);
      lib0::write_bytes(out, b.content2);
      return;
  }
}

void encode_delete_set(byte_buffer& out, const std::vector<delete_range>& deletes) {
  std::size_t clients = 0;
  for (std::size_t i = 0; i < deletes.size(); ++i) {
    if (i == 0 || deletes[i].client != deletes[i - 1].client) ++clients;
  }
  lib0::write_var_uint(out, clients);
  for (std::size_t i = 0; i < deletes.size();) {
    std::size_t j = i;
    while (j < deletes.size() && deletes[j].client == deletes[i].client) ++j;
    lib0::write_var_uint(out, deletes[i].client);
    lib0::write_var_uint(out, j - i);
    for (; i < j; ++i) {
      lib0::write_var_uint(out, deletes[i].clock);
      lib0::write_var_uint(out, deletes[i].length);
    }
  }
}

byte_buffer encode_update(const update& u) {
  // Client blocks: runs of one client with non-decreasing clocks. Counted first because each
  // block's header carries its struct count, and gaps add Skips.
  struct run {
    std::size_t begin, end, structs;
  };
  std::vector<run> runs;
  for (std::size_t i = 0; i < u.blocks.size();) {
    std::size_t j = i + 1;
    std::size_t structs = 1;
    while (j < u.blocks.size() && u.blocks[j].client == u.blocks[i].client &&
           u.blocks[j].clock >= u.blocks[j - 1].end()) {
      structs += u.blocks[j].clock > u.blocks[j - 1].end() ? 2 : 1;
      ++j;
    }
    runs.push_back({i, j, structs});
    i = j;
  }
  byte_buffer out;
  out.reserve(64 + u.blocks.size() * 8 + u.deletes.size() * 4);
  lib0::write_var_uint(out, runs.size());
  for (const run& r : runs) {
    const block& first = u.blocks[r.begin];
    lib0::write_var_uint(out, r.structs);
    lib0::write_var_uint(out, first.client);
    lib0::write_var_uint(out, first.clock);
    for (std::size_t k = r.begin; k < r.end; ++k) {
      if (k > r.begin && u.blocks[k].clock > u.blocks[k - 1].end()) {
        block skip;
        skip.kind = struct_kind::skip;
        skip.length = u.blocks[k].clock - u.blocks[k - 1].end();
        encode_block(out, skip);
      }
      encode_block(out, u.blocks[k]);
    }
  }
  encode_delete_set(out, u.deletes);
  return out;
}

}  // namespace owcore::yjs
