#pragma once
// RFC 6455 WebSocket, server side, sans-io: the opening-handshake key, a frame
// parser for client frames, and frame encoders for server frames. No extensions
// (permessage-deflate is never negotiated) and no subprotocols, as python-engineio.
//
// The Engine.IO session (session.cpp) moves the bytes: it reads into a shared buffer, parses
// with frame_parser, keeps only an incomplete frame between reads, and writes many encoded
// frames with one gathered write. Everything here is a plain, fuzzable value type.

#include "owcore/base/utf8.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace owcore::realtime::engineio::ws {

/// Frame opcodes (RFC 6455 §5.2).
enum class opcode : std::uint8_t {
  continuation = 0,
  text = 1,
  binary = 2,
  close = 8,
  ping = 9,
  pong = 10
};

/// Close status codes the server sends (RFC 6455 §7.4.1).
enum class close_code : std::uint16_t {
  normal = 1000,
  going_away = 1001,
  protocol_error = 1002,
  invalid_payload = 1007,  ///< a text message (or close reason) that is not UTF-8
  policy_violation = 1008,
  too_big = 1009,
  try_again_later = 1013,
};

/// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key, or nullopt when the key is not the
/// base64 encoding of 16 bytes (RFC 6455 §4.2.1).
std::optional<std::string> accept_key(std::string_view client_key);

/// ASCII case-insensitive equality (header names and tokens).
bool iequals_ascii(std::string_view a, std::string_view b) noexcept;

/// True when the comma-separated header `value` contains `token` (ASCII case-insensitive), as
/// `Connection: keep-alive, Upgrade`.
bool has_token(std::string_view value, std::string_view token) noexcept;

/// The 101 response completing the handshake, with `accept` from accept_key().
std::string switching_protocols(std::string_view accept);

/// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points over U+10FFFF),
/// as RFC 6455 requires of text frames: base::valid_utf8.
using base::valid_utf8;

/// One thing a client sent.
struct event {
  enum class kind { message, ping, pong, close };
  kind what = kind::message;
  bool binary = false;     ///< message: a binary message (else text, already UTF-8 checked)
  std::string data;        ///< message payload, ping/pong payload, or close reason
  std::uint16_t code = 0;  ///< close: the client's status code (1005 when it sent none)
};

/// Parses client frames: masked, no RSV bits, control frames unfragmented and at most 125
/// bytes, fragments reassembled up to a message limit. Not thread-safe; one per connection.
class frame_parser {
 public:
  /// Messages (after reassembly) larger than `max_message` bytes are refused with too_big.
  explicit frame_parser(std::size_t max_message) noexcept : max_message_(max_message) {}

  /// The outcome of parse().
  struct step {
    std::size_t consumed = 0;        ///< bytes used from the front of the input (0 = need more)
    std::optional<event> ev;         ///< a complete message or control frame
    std::optional<close_code> fail;  ///< a violation: send this close code and drop the peer
  };

  /// Parses at most one frame from the front of `in`. When the frame is incomplete, returns
  /// consumed == 0 and the caller keeps the bytes; it never needs more than
  /// max_frame_bytes() of them. After a `fail` the parser must not be used again.
  step parse(std::string_view in);

  /// The largest number of bytes one frame can occupy: a header and a data frame of
  /// max_message bytes, or a control frame (up to 125 bytes) when that is larger.
  std::size_t max_frame_bytes() const noexcept {
    return (max_message_ > 125 ? max_message_ : 125) + 14;
  }

 private:
  std::size_t max_message_;
  bool in_message_ = false;  ///< a fragmented message is being reassembled
  bool message_binary_ = false;
  std::string message_;
};

/// The header of an unmasked server frame with FIN set; writes at most 10 bytes to `out` and
/// returns how many.
std::size_t encode_header(char* out, opcode op, std::size_t payload_size) noexcept;

/// A complete unmasked control frame (`payload` is cut to 125 bytes).
std::string control_frame(opcode op, std::string_view payload = {});

/// A complete close frame with `code`.
std::string close_frame(close_code code);

}  // namespace owcore::realtime::engineio::ws
