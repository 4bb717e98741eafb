#pragma once
// Engine.IO v4 packets and their two wire forms (sans-io, no Asio):
// - WebSocket: one packet per frame; a text frame is "<type digit><data>", a binary frame is the
//   raw bytes of a binary `message` packet;
// - HTTP long-polling: packets joined by the record separator 0x1e, a binary message written as
//   'b' followed by its base64 encoding.

#include <boost/system/result.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace owcore::realtime::engineio {

/// Packet types; the value is the digit sent on the wire.
enum class packet_type : char {
  open = '0',     ///< server to client, first packet: the handshake JSON
  close = '1',    ///< either side: the transport may close
  ping = '2',     ///< heartbeat (server to client in v4; client to server only as "probe")
  pong = '3',     ///< heartbeat answer
  message = '4',  ///< application data
  upgrade = '5',  ///< client to server: completes the upgrade to WebSocket
  noop = '6',     ///< no operation; ends a pending long-poll during an upgrade
};

/// The record separator between packets of a polling payload.
inline constexpr char record_separator = '\x1e';

/// One decoded packet. `binary` is meaningful only for `message`: `data` then holds raw bytes.
struct packet {
  packet_type type = packet_type::message;  ///< the packet type
  std::string data;                         ///< the payload after the type digit (or raw bytes)
  bool binary = false;                      ///< a binary `message` (WebSocket binary frame or 'b')
};

/// An encoded packet: exactly the bytes of one WebSocket frame (text: type digit + data; binary:
/// the raw message bytes). Immutable and shared, so one broadcast is encoded once and queued for
/// many sessions without copying.
struct frame {
  std::shared_ptr<const std::string> bytes;  ///< the frame's bytes (never null once built)
  bool binary = false;                       ///< a binary frame (else text)

  /// Size in bytes (the unit of the outbound queue limits).
  std::size_t size() const noexcept { return bytes ? bytes->size() : 0; }
};

/// Encodes `p` as one frame (a binary packet must be a `message`).
frame make_frame(const packet& p);
/// A text `message` frame: "4" + `text`.
frame message_frame(std::string_view text);
/// A binary `message` frame holding `bytes`.
frame binary_frame(std::string bytes);
/// A frame of `type` with an optional text `data` (ping, pong, noop, close, open...).
frame control_frame(packet_type type, std::string_view data = {});

/// Decodes one text frame or one polling segment that is not base64 ("<digit><data>").
/// Fails with error::bad_packet when `text` is empty or the type digit is not 0-6.
boost::system::result<packet> decode_text(std::string_view text);

/// Limits applied while decoding a polling payload.
struct payload_limits {
  std::size_t max_packets = 256;  ///< more packets in one body: error::too_many_packets
};

/// Decodes a polling request body into packets. Fails on the first malformed packet
/// (error::bad_packet, error::bad_base64) or when the body holds more than `limits.max_packets`
/// packets (error::too_many_packets, detected before any packet is decoded). An empty body is
/// a malformed payload.
boost::system::result<std::vector<packet>> decode_payload(std::string_view body,
                                                          const payload_limits& limits = {});

/// Appends `f` to a polling payload being built in `out` (adding the separator when `out` is
/// not empty): text frames verbatim, binary frames as 'b' + base64.
void append_to_payload(std::string& out, const frame& f);

/// Bytes `f` occupies in a polling payload (without the separator).
std::size_t payload_size(const frame& f) noexcept;

/// Standard base64 (RFC 4648 §4) with padding.
std::string base64_encode(std::string_view bytes);
/// Decodes standard base64; padding is optional, whitespace and other alphabets are rejected.
boost::system::result<std::string> base64_decode(std::string_view text);

}  // namespace owcore::realtime::engineio
