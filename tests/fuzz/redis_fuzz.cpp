// libFuzzer target over the Redis reply path (docs/redis.md): bytes -> reply_parser ->
// multiplexer::on_reply, the way io/connection drives them. Any crash, sanitizer report or
// violated invariant (trap) is a finding.
//   byte 0: how many requests are pending (1..8); byte 1: which of them are idempotent (bit i);
//   byte 2: commands per request (1..4, two bits per request, cycling); byte 3: feed chunk size;
//   the rest: the bytes "received from the server", fed in chunks.
// Invariants: every request completes exactly once by the end; a request completed without error
// has exactly one reply per command; a non-idempotent request that was written is never written
// again; after stop() nothing is pending.
#include "owcore/redis/error.hpp"
#include "owcore/redis/protocol/multiplexer.hpp"
#include "owcore/redis/protocol/resp.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace redis = owcore::redis;

namespace {

struct outcome {
  int calls = 0;
  boost::system::error_code ec;
  std::size_t replies = 0;
};

struct sink final : redis::request_sink {
  explicit sink(outcome* o) : out(o) {}
  void complete(boost::system::error_code ec, redis::response r) override {
    ++out->calls;
    out->ec = ec;
    out->replies = r.size();
  }
  outcome* out;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  const std::size_t count = 1 + data[0] % 8;
  const unsigned idempotent_bits = data[1];
  const unsigned shape_bits = data[2];
  const std::size_t chunk = 1 + data[3] % 64;
  const std::string_view wire(reinterpret_cast<const char*>(data + 4), size - 4);

  redis::multiplexer_options o;
  o.max_queued = 8;
  o.max_attempts = 2;
  redis::multiplexer mux(o);
  const auto now = std::chrono::steady_clock::now();
  std::vector<outcome> outcomes(count);
  std::vector<std::size_t> commands(count);
  for (std::size_t i = 0; i < count; ++i) {
    redis::request r;
    commands[i] = 1 + ((shape_bits >> (2 * (i % 4))) & 3u);
    for (std::size_t c = 0; c < commands[i]; ++c) r.push("GET", redis::key("k" + std::to_string(i)));
    const bool idem = (idempotent_bits >> i) & 1u;
    r.idempotent(idem);
    mux.add(std::move(r), i + 1, std::make_unique<sink>(&outcomes[i]), now);
  }
  // Half of the requests written before the replies arrive, the rest queued.
  const auto bytes = mux.prepare_write(now);
  if (bytes.empty()) __builtin_trap();
  mux.commit_write(now);

  redis::reply_parser parser(1 << 16);
  bool broken = false;
  for (std::size_t pos = 0; pos < wire.size() && !broken; pos += chunk) {
    if (parser.feed(wire.substr(pos, chunk))) break;
    boost::system::error_code ec;
    while (auto r = parser.next(ec)) {
      if (mux.on_reply(std::move(*r)) == redis::multiplexer::reply_result::unsolicited) {
        broken = true;  // the shell closes the connection here
        break;
      }
    }
    if (ec) broken = true;
  }
  // The connection drops: non-idempotent written requests must complete with unknown_outcome,
  // idempotent ones may be re-queued; then a second write must not contain the non-idempotent.
  mux.on_connection_lost();
  for (std::size_t i = 0; i < count; ++i) {
    const bool idem = (idempotent_bits >> i) & 1u;
    if (!idem && outcomes[i].calls == 0) __builtin_trap();  // written once, never re-sent
  }
  (void)mux.prepare_write(now);
  mux.stop();
  if (!mux.idle()) __builtin_trap();
  for (std::size_t i = 0; i < count; ++i) {
    const auto& out = outcomes[i];
    if (out.calls != 1) __builtin_trap();
    if (!out.ec && out.replies != commands[i]) __builtin_trap();
  }
  return 0;
}
