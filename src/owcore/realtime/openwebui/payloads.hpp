#pragma once
// The pure part of Open WebUI's Socket.IO handlers (docs/openwebui-events.md): the limits, the
// validation of every client payload, the note id normalisation, the P:session_pool entry and
// the per-socket rate limiter. No I/O: values in, values out, so every rule here is
// unit-tested without a server.
//
// Every parser returns nullopt for anything it does not accept: a missing or mistyped field, a
// string that is empty or over its limit, an id outside its character set, a byte list with a
// value outside 0..255. The handlers then refuse the event and store nothing. Ids that end up in
// Redis keys (note ids: `P:ydoc:documents:note_<id>:...`, `P:tasks:item:note:<id>`) are limited
// to [A-Za-z0-9_-], so no client input can build a key outside the documented patterns.

#include "owcore/db/queries.hpp"
#include "owcore/realtime/socketio/packet.hpp"
#include "owcore/yjs/lib0.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace owcore::realtime::openwebui {

/// Per-socket limits and input caps. The defaults suit Open WebUI's browser (a heartbeat every
/// 30 s, a usage event per second per streaming chat, one Yjs update and one awareness update per
/// keystroke) with a wide margin.
struct limits {
  std::size_t max_id_bytes = 128;          ///< note, channel, chat and message ids
  std::size_t max_model_bytes = 256;       ///< usage model ids (a hash field, never a key)
  std::size_t max_token_bytes = 8192;      ///< auth tokens
  std::size_t max_label_bytes = 256;       ///< ydoc user_id / user_name / user_color as relayed
  std::size_t max_update_bytes = 1 << 20;  ///< one Yjs document update
  std::size_t max_awareness_bytes = 64 * 1024;  ///< one awareness update (never stored)
  std::size_t max_save_bytes = 1 << 20;    ///< the `data` of an update (the note save), as JSON
  std::size_t max_relay_bytes = 4096;      ///< events:channel `data` re-emitted to a room, as JSON
  double events_per_second = 50;           ///< sustained event rate per socket
  double event_burst = 200;                ///< bucket size
  /// A socket with this many events refused for the rate within one second is disconnected (a
  /// flood); a client merely above the rate is only throttled.
  std::size_t max_refusals = 200;
  std::size_t max_in_flight = 32;          ///< events of one socket being handled at once
  std::size_t max_rooms = 2000;            ///< rooms a socket may be made to join (channels, notes, documents)
  std::size_t max_documents = 64;          ///< Yjs documents one socket may have joined
  /// Accept Yjs document ids other than `note:<id>` (never checked against the database, as in
  /// Python; off by default: docs/wire.md, "Trust and isolation").
  bool allow_non_note_documents = false;
};

/// A document id as the handlers use it: Python's normalisation applied (a leading `note_`
/// becomes `note:`), and, for notes, the note id alone.
struct document_ref {
  std::string id;                     ///< `note:<id>` (or any accepted id when opted in)
  std::optional<std::string> note_id; ///< set for `note:` documents
  /// The Socket.IO room of the document: `doc_<id>`.
  std::string room() const { return "doc_" + id; }
};

/// True when `id` is 1..max bytes of [A-Za-z0-9_-] (uuids and Open WebUI's other generated ids).
bool valid_id(std::string_view id, std::size_t max) noexcept;

/// True when `text` is 1..max bytes without ASCII control characters (model ids, labels).
bool valid_label(std::string_view text, std::size_t max) noexcept;

/// Normalises and checks a client's document id: `note_<id>` -> `note:<id>`; a `note:` id must
/// be followed by a valid_id; other ids are accepted only with allow_non_note_documents (and
/// then must be valid_label and contain no `*`, `?`, `[` or whitespace). nullopt = refused.
std::optional<document_ref> parse_document_id(std::string_view raw, const limits& lim);

/// The first argument of an event when it is an object, else null.
const boost::json::object* first_object(const socketio::payload& p) noexcept;

/// `{"token": "<jwt>"}` (the CONNECT auth payload, or the `auth` member of an event).
std::optional<std::string> parse_token(const boost::json::value& auth, const limits& lim);

/// `user-join` / `join-channels`: `{"auth": {"token"}}`.
std::optional<std::string> parse_auth_event(const socketio::payload& p, const limits& lim);

/// `join-note`: `{"note_id", "auth": {"token"}}`.
struct join_note_event {
  std::string note_id;
  std::string token;
};
std::optional<join_note_event> parse_join_note(const socketio::payload& p, const limits& lim);

/// `usage`: `{"model", ...}` (action and chat_id are not used).
std::optional<std::string> parse_usage(const socketio::payload& p, const limits& lim);

/// `events:channel`: `{"channel_id", "message_id"?, "data": {"type": "typing"|"last_read_at", ...}}`.
struct channel_event {
  std::string channel_id;
  boost::json::value message_id;  ///< null, or the id string as sent
  std::string type;               ///< "typing" or "last_read_at"
  boost::json::value data;        ///< the whole `data` object, relayed for typing
};
std::optional<channel_event> parse_channel_event(const socketio::payload& p, const limits& lim);

/// `events:chat`: `{"chat_id", "data": {"type": "last_read_at"}}`; other types are refused.
std::optional<std::string> parse_chat_read(const socketio::payload& p, const limits& lim);

/// `ydoc:document:join`: `{"document_id", "user_id"?, "user_name"?, "user_color"?}` with
/// Python's defaults (the sid, "Anonymous", "#000000").
struct ydoc_join_event {
  document_ref doc;
  std::string user_id, user_name, user_color;
};
std::optional<ydoc_join_event> parse_ydoc_join(const socketio::payload& p, std::string_view sid, const limits& lim);

/// `ydoc:document:state` and `ydoc:document:leave`: `{"document_id", ...}`.
std::optional<document_ref> parse_document_event(const socketio::payload& p, const limits& lim);

/// A byte sequence sent as a JSON list of integers 0..255 or as a binary attachment (a
/// placeholder of `p`); at most `max` bytes.
std::optional<yjs::byte_buffer> parse_bytes(const boost::json::value& v, const socketio::payload& p, std::size_t max);

/// `ydoc:document:update`: `{"document_id", "user_id"?, "update", "data"?}`. `save` is the
/// compact JSON of `data` when it is a non-empty object (the note save patch).
struct ydoc_update_event {
  document_ref doc;
  std::string user_id;
  yjs::byte_buffer update;
  std::optional<std::string> save;
};
std::optional<ydoc_update_event> parse_ydoc_update(const socketio::payload& p, std::string_view sid,
                                                   const limits& lim);

/// `ydoc:awareness:update`: `{"document_id", "update"}`.
struct awareness_event {
  document_ref doc;
  yjs::byte_buffer update;
};
std::optional<awareness_event> parse_awareness(const socketio::payload& p, const limits& lim);

/// Bytes as the JSON int list Open WebUI (0.11.2+) sends to browsers.
boost::json::array int_list(yjs::byte_view bytes);

/// The `settings` member of a pool entry from the column's JSON: null stays null; an object gets
/// `ui` first (`{}` when it had none), then its other members in stored order (Pydantic's
/// UserSettings). Anything else (not JSON, not an object) becomes null.
boost::json::value pool_settings(const std::optional<std::string>& settings_json);

/// The P:session_pool entry of `u` (docs/openwebui-events.md, "The pool entry"): every field in
/// Pydantic declaration order (id, email, username, role, name, timezone, presence_state,
/// status_emoji, status_message, status_expires_at, info, settings, oauth, scim, last_active_at,
/// updated_at, created_at), then last_seen_at. JSON columns that are not valid JSON become null.
boost::json::object pool_entry(const db::user_row& u, std::int64_t last_seen_at);

/// A token bucket: `rate` tokens per second up to `burst`. Not thread-safe (one per socket, used
/// on its strand).
class rate_limiter {
 public:
  rate_limiter(double rate, double burst) noexcept;
  /// Takes one token at `now`; false when none is left.
  bool take(std::chrono::steady_clock::time_point now) noexcept;

 private:
  double rate_, burst_, tokens_;
  std::chrono::steady_clock::time_point last_{};
  bool started_ = false;
};

}  // namespace owcore::realtime::openwebui
