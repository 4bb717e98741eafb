#pragma once
// Socket.IO v5 packets and their encoding over Engine.IO `message` packets (sans-io):
//
//   <type>[<attachment count>-][<namespace>,][<ack id>][<JSON payload>]
//
// followed, for BINARY_EVENT / BINARY_ACK, by one binary Engine.IO message per attachment, which
// the JSON refers to with {"_placeholder":true,"num":<index>}.
//
// The decoder type-checks everything a client sends (values in, values out): the
// packet type, the attachment count and its limit, the namespace, the ack id, the JSON, the
// payload shape for the type (a non-empty array whose first element is a string for events, an
// array for acks, an object for CONNECT), and every placeholder index. Any failure is an error
// value; the server then closes that one client.

#include "owcore/realtime/engineio/packet.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace owcore::realtime::socketio {

/// Packet types; the value is the digit on the wire.
enum class packet_type : std::uint8_t {
  connect = 0,
  disconnect = 1,
  event = 2,
  ack = 3,
  connect_error = 4,
  binary_event = 5,
  binary_ack = 6,
};

/// One Socket.IO packet. For events `data` is the array [name, args...]; for acks the array of
/// arguments. `attachments` holds the binary attachments the placeholders in `data` refer to;
/// encoding picks BINARY_EVENT / BINARY_ACK when it is not empty.
struct packet {
  packet_type type = packet_type::event;    ///< as decoded (binary types kept); see encode_text
  std::string nsp = "/";                    ///< the namespace
  std::optional<std::uint64_t> id;          ///< acknowledgement id
  std::optional<boost::json::value> data;   ///< absent for a bare CONNECT or DISCONNECT
  std::vector<std::string> attachments;     ///< binary attachments, in placeholder order
};

/// Arguments of an event or acknowledgement, with their binary attachments. A binary argument
/// is a placeholder object in `args` whose `num` indexes `attachments` (the wire form, kept as is
/// so that echoing or forwarding needs no conversion).
struct payload {
  boost::json::array args;                ///< the arguments (placeholders for binary ones)
  std::vector<std::string> attachments;   ///< the bytes the placeholders refer to

  /// Appends `bytes` as an attachment and returns the placeholder value to put in `args`.
  boost::json::value attach(std::string bytes);
  /// The attachment `v` refers to when `v` is a valid placeholder, else null.
  const std::string* attachment(const boost::json::value& v) const noexcept;
};

/// Packet frames ready for an Engine.IO session: one text frame ("4" + the encoded packet) and
/// one binary frame per attachment.
using encoded_packet = std::vector<engineio::frame>;

/// The text part of `p` (without the Engine.IO "4" prefix).
std::string encode_text(const packet& p);
/// All frames of `p`.
encoded_packet encode(const packet& p);

/// An EVENT (or BINARY_EVENT) packet `[event, args...]` on `nsp`.
packet make_event(std::string nsp, std::string_view event, payload args,
                  std::optional<std::uint64_t> id = std::nullopt);
/// An ACK (or BINARY_ACK) packet answering `id`.
packet make_ack(std::string nsp, std::uint64_t id, payload args);

/// True for the event names a client may not send: connect, connect_error, disconnect,
/// disconnecting, error, newListener, removeListener.
bool is_reserved_event(std::string_view name) noexcept;

/// True when every placeholder object in `v` ({"_placeholder": true, ...}) has an integer `num`
/// in [0, count). Depth is bounded by the JSON parser's limit.
bool placeholders_valid(const boost::json::value& v, std::size_t count) noexcept;

/// Limits of the decoder.
struct decoder_limits {
  std::size_t max_attachments = 16;               ///< declared count above this: error
  std::size_t max_attachment_bytes = 1'000'000;   ///< total bytes of one packet's attachments
  std::size_t max_namespace_length = 256;         ///< namespace longer than this: error
  std::size_t max_json_depth = 32;                ///< deeper JSON: error::bad_json
};

/// Decodes a client's stream of Engine.IO messages into packets, reassembling binary packets
/// from their attachments. Not thread-safe (one per client, on its strand). After an error the
/// decoder must not be used again: close the client.
class decoder {
 public:
  explicit decoder(decoder_limits limits = {});

  /// Result of feeding one message: a complete packet, or nothing yet (attachments pending).
  using result = boost::system::result<std::optional<packet>>;

  /// Feeds a text message.
  result feed_text(std::string_view text);
  /// Feeds a binary message (an attachment of the pending binary packet).
  result feed_binary(std::string bytes);

  /// True while a binary packet waits for attachments.
  bool awaiting_attachments() const noexcept { return partial_ != nullptr; }

 private:
  result complete();

  decoder_limits limits_;
  std::unique_ptr<packet> partial_;  ///< heap: most clients never send binary
  std::size_t expected_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace owcore::realtime::socketio
