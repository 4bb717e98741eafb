// libFuzzer target for the Engine.IO input decoders (tests/fuzz/run_engineio_fuzz):
// the WebSocket frame parser (RFC 6455, client frames), the polling payload decoder and the
// text packet decoder. Beyond "no crash, no leak, no UB" it checks one property of the frame
// parser: feeding the same bytes in arbitrary pieces (as the socket delivers them, keeping an
// incomplete frame between reads like session.cpp does) yields exactly the events and the
// failure of parsing them in one piece.
#include "owcore/realtime/engineio/packet.hpp"
#include "owcore/realtime/engineio/websocket.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace ws = owcore::realtime::engineio::ws;
namespace eio = owcore::realtime::engineio;

namespace {

struct outcome {
  std::vector<std::string> events;  // kind, flags and data of each event, flattened
  int fail = 0;
  bool operator==(const outcome&) const = default;
};

std::string describe(const ws::event& e) {
  return std::to_string(static_cast<int>(e.what)) + (e.binary ? "b" : "t") + std::to_string(e.code) + ":" + e.data;
}

// Parses `in` delivered in pieces whose sizes come from `cuts` (cycled; 0 = whole rest).
outcome parse_in_pieces(std::string_view in, std::string_view cuts, std::size_t max_message) {
  ws::frame_parser parser(max_message);
  outcome out;
  std::string pending;
  std::size_t pos = 0, k = 0;
  while (pos < in.size()) {
    std::size_t n = in.size() - pos;
    if (!cuts.empty()) {
      const auto c = static_cast<unsigned char>(cuts[k++ % cuts.size()]);
      if (c != 0) n = std::min<std::size_t>(n, c);
    }
    pending.append(in.substr(pos, n));
    pos += n;
    std::string_view view = pending;
    for (;;) {
      auto st = parser.parse(view);
      if (st.fail) {
        out.fail = static_cast<int>(*st.fail);
        return out;
      }
      if (st.consumed == 0) break;
      view.remove_prefix(st.consumed);
      if (st.ev) out.events.push_back(describe(*st.ev));
    }
    if (view.size() > parser.max_frame_bytes()) std::abort();  // never needs more than one frame
    pending = std::string(view);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const auto selector = static_cast<unsigned char>(all[0]);
  const auto body = all.substr(1);
  switch (selector % 3) {
    case 0: {
      // [selector][ncuts][cuts...][frames...]: max message 64..4159 bytes from the selector.
      const std::size_t max_message = 64 + (static_cast<std::size_t>(selector) << 4);
      const auto ncuts = std::min<std::size_t>(static_cast<unsigned char>(body[0]), body.size() - 1);
      const auto cuts = body.substr(1, ncuts);
      const auto frames = body.substr(1 + ncuts);
      const auto whole = parse_in_pieces(frames, {}, max_message);
      const auto pieces = parse_in_pieces(frames, cuts, max_message);
      if (!(whole == pieces)) std::abort();
      break;
    }
    case 1: {
      eio::payload_limits limits;
      limits.max_packets = 64;
      auto r = eio::decode_payload(body, limits);
      if (r && r->size() > limits.max_packets) std::abort();
      break;
    }
    default: {
      (void)eio::decode_text(body);
      (void)ws::valid_utf8(body);
      break;
    }
  }
  return 0;
}
