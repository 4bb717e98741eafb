// libFuzzer target for the Socket.IO inputs a client or a peer instance controls
// (tests/fuzz/run_fuzz socketio):
// - the packet decoder fed a client's Engine.IO messages: text packets and binary attachments;
// - python-socketio's pub/sub messages as another instance publishes them.
// Beyond "no crash, no leak, no UB" it checks two properties: a packet the decoder accepts
// encodes to a text that decodes to the same packet, non-finite numbers written as null (the
// encoder never writes what the decoder refuses), and a pub/sub message that decodes and validates re-encodes, in both JSON styles, to
// a text that decodes to the same message.
//
// Input: byte 0 selects the decoder (even: packets, odd: pub/sub); for packets the rest is a list
// of messages separated by 0xFF, each starting with 't' (text) or anything else (binary).
//
// fuzz-sources: src/owcore/realtime/socketio/packet.cpp src/owcore/realtime/socketio/error.cpp
// fuzz-sources: src/owcore/realtime/adapter/socketio_pubsub.cpp src/owcore/realtime/adapter/socketio_pubsub_encode.cpp
// fuzz-sources: src/owcore/realtime/engineio/packet.cpp
// fuzz-sources: src/owcore/realtime/engineio/error.cpp
// fuzz-libs: -lboost_json -lcrypto
#include "owcore/base/pyjson.hpp"
#include "owcore/realtime/adapter/socketio_pubsub.hpp"
#include "owcore/realtime/socketio/packet.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace sio = owcore::realtime::socketio;
namespace ps = owcore::realtime::adapter::socketio_pubsub;

namespace {

[[noreturn]] void broken(const char* what) {
  __builtin_printf("property broken: %s\n", what);
  std::abort();
}

bool same(const sio::packet& a, const sio::packet& b) {
  return a.nsp == b.nsp && a.id == b.id && a.data == b.data && a.attachments == b.attachments &&
         (a.type == b.type || (a.attachments.empty() && b.attachments.empty()));
}

void round_trip(const sio::packet& p) {
  // Re-decoding needs the attachments fed after the text, as a client sends them.
  const auto frames = sio::encode(p);
  sio::decoder d;
  std::optional<sio::packet> again;
  for (const auto& f : frames) {
    auto r = f.binary ? d.feed_binary(*f.bytes) : d.feed_text(std::string_view(*f.bytes).substr(1));
    if (!r) broken("an encoded packet does not decode");
    if (*r) again = std::move(**r);
  }
  // Non-finite numbers are encoded as null (as JSON.stringify does); everything else round-trips.
  sio::packet expected = p;
  if (expected.data) owcore::base::pyjson::null_non_finite(*expected.data);
  if (!again || !same(expected, *again)) broken("encode/decode changed the packet");
}

void packets(std::string_view in) {
  sio::decoder d;
  while (!in.empty()) {
    const auto cut = in.find('\xff');
    const std::string_view msg = in.substr(0, cut);
    in = cut == std::string_view::npos ? std::string_view{} : in.substr(cut + 1);
    if (msg.empty()) continue;
    auto r = msg[0] == 't' ? d.feed_text(msg.substr(1)) : d.feed_binary(std::string(msg.substr(1)));
    if (!r) return;  // the server closes this client: the decoder is not used again
    if (*r) round_trip(**r);
  }
}

void pubsub(std::string_view in) {
  auto m = ps::decode(in);
  if (auto* e = std::get_if<ps::decode_error>(&m)) {
    if (!e->code) broken("a decode error without a code");
    return;
  }
  auto& msg = std::get<ps::message>(m);
  (void)ps::should_process(msg, "0123456789abcdef0123456789abcdef");
  if (ps::validate(msg)) return;
  for (auto style : {ps::json_style::stdlib, ps::json_style::compact}) {
    const auto text = ps::encode(msg, style);
    auto again = ps::decode(text);
    if (!std::holds_alternative<ps::message>(again)) broken("a valid message re-encodes to an invalid one");
    if (ps::encode(std::get<ps::message>(again), style) != text) broken("encode/decode/encode is not stable");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0)
    packets(in);
  else
    pubsub(in);
  return 0;
}
