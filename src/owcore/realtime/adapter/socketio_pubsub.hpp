#pragma once
// python-socketio's Redis pub/sub protocol (docs/wire.md, "The socketio channel"), sans-io: the
// typed messages AsyncPubSubManager (python-socketio 5.16.2) publishes on the `socketio` channel,
// their JSON text in the two dialects Python produces (stdlib json.dumps, orjson), a decoder that
// treats every payload as untrusted input, the binary-attachment (base64) rule, the host_id
// self-filter and the host_id generator. No I/O; redis_channel.hpp moves the bytes.
//
// Wire shapes, keys in the order python-socketio builds its dicts (the stdlib encoding is
// byte-for-byte what Python's json.dumps writes for them):
//   {"method": "emit", "event", "data", "binary", "namespace", "room", "skip_sid", "callback",
//    "host_id"}
//   {"method": "callback", "host_id", "sid", "namespace", "id", "args"}
//   {"method": "disconnect", "sid", "namespace", "host_id"}
//   {"method": "enter_room" | "leave_room", "sid", "room", "namespace", "host_id"}
//   {"method": "close_room", "room", "namespace", "host_id"}
//
// JSON semantics are Python's json module (what python-socketio's receivers run), with
// engineio's integer guard: base/pyjson.hpp lists them (NaN/Infinity tokens, the 100-character
// integer limit, duplicate keys, strict UTF-8, lone surrogates as U+FFFD, a leading BOM).
//
// Thread-safety: every function here is pure and reentrant; values are plain data.

#include "owcore/base/pyjson.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace owcore::realtime::adapter::socketio_pubsub {

// ---------------------------------------------------------------------------------------------
// Errors

/// Why a payload was rejected or a message cannot be published (one enum and
/// category for this module). Messages are short and fixed; details go in decode_error::where.
enum class error {
  too_large = 1,      ///< payload above limits::max_message_bytes
  invalid_json,       ///< not JSON as Python's json.loads reads it
  too_deep,           ///< nesting above limits::max_depth
  integer_too_long,   ///< an integer literal longer than 100 characters (engineio's guard)
  not_an_object,      ///< the top-level value is not a JSON object
  missing_field,      ///< a required key is absent
  wrong_type,         ///< a key holds a value of the wrong JSON type
  unknown_method,     ///< "method" is not one of the six python-socketio methods
  invalid_host_id,    ///< host_id is not 32 lowercase hex digits
  invalid_namespace,  ///< a namespace that does not start with '/'
  string_too_long,    ///< event, room, sid or namespace above limits::max_name_bytes
  empty_sid,          ///< an empty sid
  too_many_elements,  ///< args, rooms, skip_sid entries or attachments above their limit
  invalid_ack_id,     ///< an ack id that is not a non-negative integer below 2^64
  invalid_binary,     ///< a binary emit whose attachments or placeholders are malformed
  queue_full,         ///< (redis_channel) the publish queue is at its limit; message dropped
  stopped,            ///< (redis_channel) the channel was stopped
};

/// The category of `error` ("owcore.realtime.socketio_pubsub"); safe from any thread.
const boost::system::error_category& protocol_category() noexcept;

/// Makes `error` values usable as boost::system::error_code.
inline boost::system::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), protocol_category()};
}

/// A rejected payload or message: the reason and where it was found, e.g. `skip_sid[3]`,
/// `data[0].x` or `offset 17`, for logs. `where` never contains payload bytes.
struct decode_error {
  boost::system::error_code code;
  std::string where;
};

// ---------------------------------------------------------------------------------------------
// Limits and JSON

/// Bounds applied to untrusted payloads (decode) and to messages before they are published
/// (validate). Every count and length has a limit. Defaults fit Open WebUI.
struct limits {
  /// Whole payload. Server emits carry whole accumulated chat messages with their sources
  /// (docs/wire.md, "Streaming traffic"), which are not bounded by Engine.IO's 1 MB inbound limit,
  /// hence 8 MiB.
  std::size_t max_message_bytes = 8 * 1024 * 1024;
  /// Nesting of arrays and objects, the message object itself counting as 1.
  std::size_t max_depth = 128;
  /// Bytes of one event name, namespace, room, sid or skip_sid entry.
  std::size_t max_name_bytes = 1024;
  /// Entries of a `room` list or a `skip_sid` list.
  std::size_t max_targets = 1024;
  /// Positional arguments of an emit (`data`, or `data[0]` when binary) or a callback (`args`).
  std::size_t max_args = 64;
  /// Binary attachments of one emit.
  std::size_t max_attachments = 64;
};

/// The two JSON dialects python-socketio may publish with (docs/wire.md, "The socketio channel"):
/// `stdlib` (json.dumps defaults, byte-exact with python-socketio's default JSON module) and
/// `compact` (orjson-like; what owcore publishes by default: Python reads it fine). See
/// base/pyjson.hpp for the exact rules.
using json_style = base::pyjson::style;

/// Parses `text` with Python's json.loads semantics (see the file comment), bounded by
/// `lim.max_message_bytes` and `lim.max_depth`. On failure returns the error and where it was
/// found (a byte offset). Never throws except std::bad_alloc.
std::variant<boost::json::value, decode_error> load_json(std::string_view text,
                                                         const limits& lim = {});

/// Appends `v` as JSON text in `style` to `out`. Strings are expected to be UTF-8; an invalid
/// byte sequence is written as U+FFFD so the output is always valid JSON. Recursion depth equals
/// the value's nesting (validate() bounds it for messages). Never throws except std::bad_alloc.
void dump_json(const boost::json::value& v, json_style style, std::string& out);

/// As above, returning a new string.
std::string dump_json(const boost::json::value& v, json_style style);

// ---------------------------------------------------------------------------------------------
// Messages
//
// A namespace is `nsp` below (`namespace` is a C++ keyword; python-socketio's Packet calls it
// `nsp` too). Defaults build a valid message once host_id and the method's names are filled in.

/// A list of rooms or sids addressed or skipped: null, one string, or a list (kept as sent, so a
/// decoded message re-encodes to the same shape). python-socketio accepts a list for `to`/`room`
/// (any of the rooms) and for `skip_sid`.
using target = std::variant<std::monostate, std::string, std::vector<std::string>>;

/// The `callback` triple of an emit, JSON `[room, namespace, id]`: the recipient must answer
/// with a `callback` message to the emitter's host_id, quoting `room` as its `sid`, and `id`.
struct ack_ref {
  std::string room;  ///< the single sid/room the emit with ack was sent to
  std::string nsp = "/";
  std::uint64_t id = 0;  ///< python-socketio counts from 1 per room
  friend bool operator==(const ack_ref&, const ack_ref&) = default;
};

/// `emit`: deliver `event` with positional `data` to the members of `room` (null: the whole
/// namespace) except `skip_sid`, on every host.
///
/// `data` is the wire form: when `binary` is false it is the list of positional arguments; when
/// true it is `[<args with placeholders>, "<base64 attachment 0>", ...]` (use get_args/set_args).
/// python-socketio's receivers turn `[null]` (and `[]`) into an event with no arguments: Python's
/// `sio.emit(event)` publishes data `[null]`, and a lone None argument is never delivered.
/// A decoded message's `data` is always an array: python-socketio before 5.15.1 published the
/// bare value, which decode() wraps as one argument, as 5.16.2's receiver does.
struct emit_message {
  std::string event;
  boost::json::array data;
  bool binary = false;
  std::string nsp = "/";
  target room;                      ///< monostate = null = broadcast to the namespace
  target skip_sid;                  ///< monostate = null = skip nobody
  std::optional<ack_ref> callback;  ///< nullopt = null = no acknowledgement wanted
  std::string host_id;              ///< the emitting host
  friend bool operator==(const emit_message&, const emit_message&) = default;
};

/// `callback`: an acknowledgement travelling back to the host that emitted with `callback`.
/// Processed only by the host whose host_id it carries (see should_process).
struct callback_message {
  std::string host_id;  ///< the *origin* host (the one that asked for the ack)
  std::string sid;      ///< ack_ref::room of the emit
  std::string nsp = "/";
  std::uint64_t id = 0;     ///< ack_ref::id of the emit
  boost::json::array args;  ///< the client's acknowledgement arguments
  friend bool operator==(const callback_message&, const callback_message&) = default;
};

/// `disconnect`: the host holding `sid` must disconnect it from `nsp`.
struct disconnect_message {
  std::string sid;
  std::string nsp = "/";
  std::string host_id;
  friend bool operator==(const disconnect_message&, const disconnect_message&) = default;
};

/// `enter_room`: the host holding `sid` must add it to `room`. Python publishes it only when the
/// sid is not local to the sender.
struct enter_room_message {
  std::string sid;
  std::string room;
  std::string nsp = "/";
  std::string host_id;
  friend bool operator==(const enter_room_message&, const enter_room_message&) = default;
};

/// `leave_room`: the host holding `sid` must remove it from `room`.
struct leave_room_message {
  std::string sid;
  std::string room;
  std::string nsp = "/";
  std::string host_id;
  friend bool operator==(const leave_room_message&, const leave_room_message&) = default;
};

/// `close_room`: every host removes every member from `room`.
struct close_room_message {
  std::string room;
  std::string nsp = "/";
  std::string host_id;
  friend bool operator==(const close_room_message&, const close_room_message&) = default;
};

/// Any pub/sub message.
using message = std::variant<emit_message, callback_message, disconnect_message, enter_room_message,
                             leave_room_message, close_room_message>;

/// The wire `method` of `m` ("emit", "callback", ...).
std::string_view method_name(const message& m) noexcept;

/// The host_id carried by `m` (for callback: the origin host).
const std::string& host_id_of(const message& m) noexcept;
/// Mutable access to the same field.
std::string& host_id_of(message& m) noexcept;

/// Checks `m` against the wire rules and `lim`: host_id format, namespaces, name lengths, sids
/// non-empty, list sizes, nesting depth, and for a binary emit the attachment encoding and that
/// every placeholder refers to an attachment. Returns nullopt when valid. decode() applies it to
/// everything it returns; publishers apply it before encoding.
std::optional<decode_error> validate(const message& m, const limits& lim = {});

/// The JSON text python-socketio would publish for `m` (stdlib: byte-exact). Does not validate;
/// call validate() first for messages built from untrusted parts.
std::string encode(const message& m, json_style style);

/// Parses and validates one pub/sub payload. Unknown extra keys are ignored (forward
/// compatibility). Required keys: `method`, `host_id`, `namespace` and, per method, `event` and
/// `data` (emit), `sid`, `id` and `args` (callback), `sid` (disconnect, enter/leave_room),
/// `room` (enter/leave/close_room). Optional in an emit, null when absent as python-socketio's
/// `.get()` reads them: `binary` (false), `room`, `skip_sid`, `callback`. Present keys must have
/// their exact types: `binary` a bool (null reads as false); `room`/`skip_sid` null, a string or
/// a list of strings (a `room` list must be non-empty); `callback` null or [string, namespace,
/// non-negative integer]; ack ids non-negative integers (integral floats are rejected). An
/// unknown method is an error (python-socketio ignores it silently; the caller decides how
/// loudly to drop it). Every returned message has passed validate().
std::variant<message, decode_error> decode(std::string_view payload, const limits& lim = {});

// ---------------------------------------------------------------------------------------------
// Binary attachments

/// Event arguments with binary values taken out, as python-socketio's Packet.deconstruct_binary
/// produces them and as Socket.IO BINARY_EVENT packets carry them: each binary value in `args`
/// is a placeholder object `{"_placeholder": true, "num": i}` and `attachments[i]` holds its raw
/// bytes. Without binary values `attachments` is empty.
struct event_args {
  boost::json::array args;
  std::vector<std::string> attachments;
  friend bool operator==(const event_args&, const event_args&) = default;
};

/// `{"_placeholder": true, "num": num}`, the JSON that stands for attachment `num`.
boost::json::value make_placeholder(std::size_t num);

/// Appends `bytes` to `ea.attachments` and returns the placeholder to put in `ea.args`.
boost::json::value add_attachment(event_args& ea, std::string bytes);

/// True when `v` is what python-socketio's reconstruct_binary replaces: an object whose
/// `_placeholder` is truthy in Python's sense (true, non-zero number, non-empty string, array or
/// object) and which has a `num` key. Whether `num` is a valid index is checked separately.
bool is_placeholder(const boost::json::value& v) noexcept;

/// The wire `data` and `binary` of an emit carrying `ea`: the args themselves when there are no
/// attachments, else `[args, base64(attachment 0), ...]` with standard, padded base64
/// (base64.b64encode). Placeholders are not checked here (validate() does).
std::pair<boost::json::array, bool> to_wire(const event_args& ea);

/// Sets `m.data` and `m.binary` from `ea` (to_wire).
void set_args(emit_message& m, const event_args& ea);

/// The inverse of to_wire for a decoded emit: `data` as the args when `binary` is false
/// (placeholders in it are left alone, as Python does); when true, decodes the base64
/// attachments (standard alphabet, padding required, no whitespace: what b64encode writes) and
/// checks the attachment count against `lim.max_attachments` and that every placeholder's `num`
/// is an integer index of an attachment. Errors: invalid_binary, too_many_elements.
boost::system::result<event_args> from_wire(const boost::json::array& data, bool binary,
                                            const limits& lim = {});

/// from_wire(m.data, m.binary, lim).
boost::system::result<event_args> get_args(const emit_message& m, const limits& lim = {});

// ---------------------------------------------------------------------------------------------
// Host ids and the self-filter

/// A new host id: uuid4().hex, 32 lowercase hex digits (base::uuid4_hex), version and variant
/// bits set as Python's uuid4. Thread-safe. Throws std::runtime_error only if the CSPRNG
/// fails (a broken system, never an input problem).
std::string make_host_id();

/// True for exactly 32 characters of [0-9a-f] (any version nibble is accepted).
bool valid_host_id(std::string_view s) noexcept;

/// python-socketio's self-filter: a host ignores messages carrying its own host_id, except
/// `callback`, which it processes only when the host_id *is* its own (the ack answers its emit).
bool should_process(const message& m, std::string_view own_host_id) noexcept;

}  // namespace owcore::realtime::adapter::socketio_pubsub

template <>
struct boost::system::is_error_code_enum<owcore::realtime::adapter::socketio_pubsub::error>
    : std::true_type {};
