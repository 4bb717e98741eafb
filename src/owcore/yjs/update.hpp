#pragma once
// The Yjs v1 update model, its validating decoder and its encoder (docs/yjs.md).
//
// A decoded update points into the caller's input bytes (and, after compaction, into buffers it
// owns): it copies no content. Keep the input alive for as long as the decoded value is used.
// Everything here is a pure function of its arguments: safe to call from any thread on distinct
// objects; no I/O, no global state.

#include "owcore/yjs/error.hpp"
#include "owcore/yjs/lib0.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace owcore::yjs {

/// The limits every decode enforces. Defaults suit owcore's stored elements; all are inclusive.
struct decode_limits {
  /// Largest clock, and largest clock + length, of any struct, origin, parent or delete range.
  /// pycrdt's yrs reads clocks as u32, so anything above 2^32-1 would break Python instances
  /// sharing the list (docs/yjs.md, "Client and clock ids").
  std::uint64_t max_clock = 0xffffffffu;
  /// Deepest nesting of `Any` arrays/objects and of JSON text (JS itself has no limit).
  std::size_t max_depth = 64;
  /// Most structs (GC, Skip, Item) in one decode call; for merges, across all inputs together.
  /// A decoded struct takes 144 bytes on x86-64, so the default bounds that memory at ~150 MB; a
  /// 200 KB note snapshot holds a few thousand structs.
  std::size_t max_structs = std::size_t{1} << 20;
  /// Most delete-set ranges in one call (all inputs of a merge together); 24 bytes each.
  std::size_t max_delete_ranges = std::size_t{1} << 20;
  /// Largest accepted input, in bytes, per update.
  std::size_t max_update_size = std::size_t{64} << 20;
};

/// A struct id: (client, clock). Clocks count UTF-16 units for strings.
struct struct_id {
  std::uint64_t client = 0;
  std::uint64_t clock = 0;
  friend bool operator==(const struct_id&, const struct_id&) = default;
};

/// What a struct is. Skips only exist in merged updates (fillers for clock ranges not contained).
enum class struct_kind : std::uint8_t { gc, skip, item };

/// Item content ref (the low 5 bits of the info byte, docs/yjs.md, "Content kinds").
enum class content_ref : std::uint8_t {
  deleted = 1,  ///< ContentDeleted: only a length
  json = 2,     ///< legacy ContentJSON: `count` JSON texts (or `undefined`), one per unit
  binary = 3,   ///< ContentBinary: one Uint8Array
  string = 4,   ///< ContentString: UTF-8 text, length in UTF-16 units
  embed = 5,    ///< ContentEmbed: one JSON text
  format = 6,   ///< ContentFormat: key and JSON value text
  type = 7,     ///< ContentType: a shared type (typeRef plus optional XML node/hook name)
  any = 8,      ///< ContentAny: `count` Any values, one per unit
  doc = 9,      ///< ContentDoc: subdocument guid plus an Any options object
};

/// Where an item without origins names its parent.
enum class parent_kind : std::uint8_t { none, root, item };

/// One decoded struct (GC, Skip or Item). Byte views point at encoded bytes that stay owned
/// elsewhere (the input, or `update::storage`). Content is held in its encoded form:
///  - deleted: nothing (the length says it all);
///  - json / any: `content` is the concatenated element encodings (varStrings / Any values);
///  - binary, embed, string: `content` is the payload without its length prefix;
///  - format: `content` is the key, `content2` the JSON value text;
///  - type: `type_ref`, and `content` the node/hook name for typeRef 3 and 5;
///  - doc: `content` is the guid, `content2` the encoded Any options object.
struct block {
  struct_kind kind = struct_kind::gc;
  content_ref ref = content_ref::deleted;  ///< items only
  parent_kind parent = parent_kind::none;  ///< items without origins only
  bool has_origin = false;
  bool has_right_origin = false;
  /// A map key is present. Only read for items without origins (as the JS reader does); a slice
  /// of such an item keeps it, so its info byte keeps the 0x20 bit (docs/yjs.md, "Merging").
  bool has_parent_sub = false;
  /// String content only: a U+FFFD precedes `content` (the right half of a split surrogate pair).
  bool fffd_prefix = false;
  std::uint8_t type_ref = 0;  ///< ContentType only, 0..6
  std::uint64_t client = 0;
  std::uint64_t clock = 0;
  std::uint64_t length = 0;  ///< clock units covered (> 0 in decoded updates)
  struct_id origin{};
  struct_id right_origin{};
  struct_id parent_id{};     ///< parent_kind::item
  byte_view parent_name{};   ///< parent_kind::root: the root type name (UTF-8)
  byte_view parent_sub{};    ///< the map key, when has_parent_sub
  byte_view content{};
  byte_view content2{};

  std::uint64_t end() const noexcept { return clock + length; }
  struct_id id() const noexcept { return {client, clock}; }
};

/// One delete-set range of one client.
struct delete_range {
  std::uint64_t client = 0;
  std::uint64_t clock = 0;
  std::uint64_t length = 0;
};

/// A decoded update.
struct update {
  /// Structs ordered by client (descending), then clock (ascending); zero-length structs are
  /// dropped. Well-formed input is kept in file order; out-of-order or repeated client blocks are
  /// regrouped here (docs/yjs.md, "Merging"), so same-client structs may overlap only for such
  /// inputs.
  std::vector<block> blocks;
  /// Delete ranges in file order (clients with no ranges are dropped, as JS does).
  std::vector<delete_range> deletes;
  /// Bytes owned by this update that blocks may point into (built by compaction). Moving the
  /// update keeps those views valid.
  std::vector<byte_buffer> storage;
};

/// Decodes and fully validates one v1 update against `limits` (docs/yjs.md, "Limits").
/// Trailing bytes after the delete set are ignored, as JS does. `struct_budget` and
/// `range_budget`, when given, are decremented and shared across calls (used by merges).
/// Errors carry the byte offset; `decode_error::input` is 0.
result<update> decode_update(byte_view data, const decode_limits& limits = {});
result<update> decode_update(byte_view data, const decode_limits& limits,
                             std::size_t& struct_budget, std::size_t& range_budget);

/// Encodes `u` as a v1 update with canonical varints (docs/yjs.md, "Merging"). Blocks must be
/// grouped by client with clocks ascending; a same-client gap is filled with a Skip, and an overlap
/// starts a new client block. Delete ranges are written in the given order, one entry per run of
/// equal clients. Content bytes are copied verbatim.
byte_buffer encode_update(const update& u);

/// Appends the encoding of one struct (info byte onward) to `out`.
void encode_block(byte_buffer& out, const block& b);

/// Appends a delete set: consecutive ranges of one client form one entry.
void encode_delete_set(byte_buffer& out, const std::vector<delete_range>& deletes);

/// The empty update `[0, 0]`: no structs, no deletes (docs/yjs.md, "The empty update").
inline byte_buffer empty_update() { return {0, 0}; }

}  // namespace owcore::yjs
