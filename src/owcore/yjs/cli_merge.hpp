#pragma once
// `owcore ydoc merge [--compact]`: the stream half of the subcommand, kept in the yjs library so it
// is testable without a process. It only touches the streams it is given.

#include <iosfwd>
#include <optional>
#include <string_view>

#include "owcore/yjs/lib0.hpp"

namespace owcore::yjs {

/// Reads updates from `in`, one per line in the stored element format (a JSON array of byte
/// values such as `[1, 2, 3]` or `[1,2,3]`; blank lines are ignored), merges them with
/// `merge_updates` (level A; `compact` adds levels B and C) and writes the result to `out` in the
/// same format (`[1, 2, 3]`, Python's `json.dumps` spacing) followed by a newline. No input lines
/// give `[0, 0]`. Returns the exit status: 0 on success; 1 when a line is not a byte array or not
/// a valid update, after writing "line N: <reason>" to `err` and nothing to `out`.
/// Lines are limited to the size a `decode_limits::max_update_size` update can take (checked after
/// the line is read). Thread-safe for distinct streams; blocks only on the streams themselves.
int run_ydoc_merge(std::istream& in, std::ostream& out, std::ostream& err, bool compact);

/// Parses one stored element (`[n, n, ...]`, bytes 0..255, JSON whitespace allowed). On failure
/// returns nullopt and sets `reason` to a static description.
std::optional<byte_buffer> parse_byte_array(std::string_view text, const char*& reason);

/// Formats bytes as a stored element: `[1, 2, 3]`.
void format_byte_array(std::ostream& out, byte_view bytes);

}  // namespace owcore::yjs
