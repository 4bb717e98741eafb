#pragma once
// Merging Yjs v1 updates: `Y.mergeUpdates` semantics (docs/yjs.md, "Merging": "level A") plus
// the two compaction reductions (docs/yjs.md, "Compaction"; level B: squash, level C: strip
// deleted content).
//
// All functions are pure: safe to call concurrently on distinct arguments, no I/O, no globals.
// Memory is bounded by `decode_limits` (about 150 bytes per struct plus the output).

#include "owcore/yjs/error.hpp"
#include "owcore/yjs/lib0.hpp"
#include "owcore/yjs/update.hpp"

#include <span>
#include <vector>

namespace owcore::yjs {

/// How `merge_updates` works.
struct merge_options {
  /// Level B (docs/yjs.md, "Compaction"): squash consecutive items of one client that a receiver
  /// would re-split identically (same right origin, origin = previous item's last unit, same
  /// mergeable content).
  bool squash = false;
  /// Level C (docs/yjs.md, "Compaction"): items wholly inside the merged delete set become
  /// ContentDeleted with the same origins; ContentType items are kept. Only for documents whose
  /// clients run with gc on (Open WebUI does); it discards deleted history.
  bool strip_deleted = false;
  /// Limits applied to every input; struct and range counts are totals across all inputs.
  decode_limits limits{};
};

/// Merges v1 updates into one update equivalent to applying them in order.
///  - No inputs: `[0, 0]`.
///  - One input and neither squash nor strip_deleted: the input unchanged, after validation
///    (docs/yjs.md, "Merging").
///  - Otherwise the level A merge, byte-identical to `Y.mergeUpdates` (yjs 13.6.x) for input that
///    yjs produced, then the requested reductions.
/// Each input is fully decoded and validated first; the first invalid one fails the call with its
/// index in `decode_error::input`. Intentional differences from JS (docs/yjs.md, "Merging"):
/// client blocks are regrouped per client before merging (JS loses structs on out-of-order input),
/// a GC and an Item at the same id order the Item first, zero-length structs are dropped, and
/// content bytes (Any values, JSON texts, subdocument options) are copied verbatim, where JS
/// re-encodes them from decoded values.
result<byte_buffer> merge_updates(std::span<const byte_view> updates, const merge_options& options = {});

/// Level A on already decoded updates: the merged structs (clients descending, each client
/// contiguous from its first clock, gaps filled with Skips) and the merged delete set (clients
/// descending, ranges sorted and coalesced). The result points into the inputs' bytes
/// and storage: keep both alive while it is used.
update merge_decoded(std::span<const update> updates);

/// Merges delete ranges as `mergeDeleteSets` + `sortAndMergeDeleteSet` do: union per client,
/// sorted by clock, overlapping or adjacent ranges coalesced; clients in descending order.
std::vector<delete_range> merge_delete_sets(std::vector<delete_range> ranges);

/// Level C on a merged update (`merge_decoded` output): items whose whole range is deleted become
/// ContentDeleted, except ContentType items. `u.deletes` must be merged (sorted, coalesced).
void strip_deleted(update& u);

/// Level B on a merged update: squashes runs of String, Any, JSON or Deleted items (see
/// `merge_options::squash`). New contents are stored in `u.storage`.
void squash(update& u);

}  // namespace owcore::yjs
