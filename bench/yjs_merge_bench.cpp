// The C++ half of bench/run_yjs_bench: times owcore's merge on the workload the Node half wrote
// (one ~200 KB snapshot plus 500 keystroke updates) and checks the bytes equal Y.mergeUpdates'.
//   owcore_yjs_merge_bench DIR [ITERATIONS]
// Prints one JSON line: median and minimum microseconds for level A (merge), for A+B+C (compact)
// and for the keystrokes alone, output sizes, and whether level A matched yjs byte for byte.
#include "owcore/yjs/merge.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

namespace yjs = owcore::yjs;

namespace {

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::uint32_t u32le(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
         std::uint32_t{p[3]} << 24;
}

struct timing {
  double median_us, min_us;
};

timing measure(int iterations, const std::function<void()>& fn) {
  for (int i = 0; i < 20; ++i) fn();
  std::vector<double> samples;
  for (int i = 0; i < iterations; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    samples.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(samples.begin(), samples.end());
  return {samples[samples.size() / 2], samples.front()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [ITERATIONS]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const int iterations = argc > 2 ? std::stoi(argv[2]) : 500;
  const auto workload = read_file(dir + "/workload.bin");
  const auto expected = read_file(dir + "/expected.bin");
  if (workload.size() < 4) {
    std::fprintf(stderr, "no workload in %s\n", dir.c_str());
    return 2;
  }
  std::vector<yjs::byte_view> updates;
  std::size_t off = 4;
  for (std::uint32_t i = 0, n = u32le(workload.data()); i < n; ++i) {
    const std::uint32_t len = u32le(workload.data() + off);
    updates.emplace_back(workload.data() + off + 4, len);
    off += 4 + len;
  }
  yjs::merge_options compact;
  compact.squash = compact.strip_deleted = true;

  auto merged = yjs::merge_updates(updates);
  auto compacted = yjs::merge_updates(updates, compact);
  if (!merged || !compacted) {
    std::fprintf(stderr, "merge failed\n");
    return 1;
  }
  const bool identical = *merged == expected;
  const std::span<const yjs::byte_view> keys(updates.data() + 1, updates.size() - 1);
  const timing a = measure(iterations, [&] { (void)yjs::merge_updates(updates); });
  const timing abc = measure(iterations, [&] { (void)yjs::merge_updates(updates, compact); });
  const timing k = measure(iterations, [&] { (void)yjs::merge_updates(keys); });
  std::printf(
      "{\"cpp_merge_us\": %.1f, \"cpp_merge_min_us\": %.1f, \"cpp_compact_us\": %.1f, "
      "\"cpp_keystrokes_only_us\": %.1f, \"merged_bytes\": %zu, \"compacted_bytes\": %zu, "
      "\"identical_to_yjs\": %s}\n",
      a.median_us, a.min_us, abc.median_us, k.median_us, merged->size(), compacted->size(),
      identical ? "true" : "false");
  return identical ? 0 : 1;
}
