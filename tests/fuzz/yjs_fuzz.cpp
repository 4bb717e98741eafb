// libFuzzer target over the Yjs v1 decoder, encoder and merge (docs/yjs.md, "How the merge is
// checked"). Any crash, sanitizer report or violated invariant (trap) is a finding.
//   - the input as one update: decode; when valid, merge it with [0,0] and compact it, then check
//     that the merge output decodes and is (after one normalisation) a fixed point of merging
//     with itself and of decode + encode;
//   - the input split in two at a position taken from its first byte: merge both (mostly
//     rejected; when both halves are valid, the same checks).
#include "owcore/yjs/merge.hpp"
#include "owcore/yjs/update.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace yjs = owcore::yjs;

namespace {

// A merge output is a fixed point of merging with itself, after one normalisation: a slice of a
// map entry keeps the parentSub flag next to its new origin (as JS writes it), and readers drop
// that flag on the next decode.
void check_merged(const yjs::byte_buffer& m) {
  const yjs::byte_view once[] = {m, m};
  auto m2 = yjs::merge_updates(once);
  if (!m2) __builtin_trap();  // owcore must always be able to read its own output
  auto u = yjs::decode_update(*m2);
  if (!u || yjs::encode_update(*u) != *m2) __builtin_trap();
  const yjs::byte_view twice[] = {*m2, *m2};
  auto m3 = yjs::merge_updates(twice);
  if (!m3 || *m3 != *m2) __builtin_trap();
}

void merge_and_check(std::vector<yjs::byte_view> in) {
  auto m = yjs::merge_updates(in);
  if (!m) return;
  if (in.size() > 1) check_merged(*m);
  yjs::merge_options compact;
  compact.squash = compact.strip_deleted = true;
  auto c = yjs::merge_updates(in, compact);
  if (!c) __builtin_trap();  // compaction accepts whatever the merge accepted
  if (!yjs::decode_update(*c)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const yjs::byte_view all(data, size);
  static const std::uint8_t empty[] = {0, 0};
  if (yjs::decode_update(all)) {
    merge_and_check({all, yjs::byte_view(empty)});
    merge_and_check({all});
  }
  if (size > 2) {
    const yjs::byte_view rest = all.subspan(1);
    const std::size_t cut = data[0] % (rest.size() + 1);
    merge_and_check({rest.first(cut), rest.subspan(cut)});
  }
  return 0;
}
