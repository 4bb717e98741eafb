#include "owcore/realtime/openwebui/payloads.hpp"

#include "owcore/base/pyjson.hpp"

#include <algorithm>

namespace owcore::realtime::openwebui {

namespace json = boost::json;

bool valid_id(std::string_view id, std::size_t max) noexcept {
  if (id.empty() || id.size() > max) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

bool valid_label(std::string_view text, std::size_t max) noexcept {
  if (text.empty() || text.size() > max) return false;
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

std::optional<document_ref> parse_document_id(std::string_view raw, const limits& lim) {
  std::string id(raw);
  // Python's normalize_document_id: `note_x` must not alias `note:x` past the access check.
  if (id.starts_with("note_")) id[4] = ':';
  document_ref ref;
  if (id.starts_with("note:")) {
    auto note = id.substr(5);
    if (!valid_id(note, lim.max_id_bytes)) return std::nullopt;
    ref.note_id = std::move(note);
    ref.id = std::move(id);
    return ref;
  }
  if (!lim.allow_non_note_documents || !valid_label(id, lim.max_id_bytes + 16)) return std::nullopt;
  if (id.find_first_of("*?[] ") != std::string::npos) return std::nullopt;
  ref.id = std::move(id);
  return ref;
}

const json::object* first_object(const socketio::payload& p) noexcept {
  if (p.args.empty() || !p.args.front().is_object()) return nullptr;
  return &p.args.front().get_object();
}

namespace {

std::optional<std::string> string_member(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

std::optional<std::string> id_member(const json::object& o, std::string_view key, const limits& lim) {
  auto s = string_member(o, key);
  if (!s || !valid_id(*s, lim.max_id_bytes)) return std::nullopt;
  return s;
}

// An optional display label: absent or null gives `fallback`; anything else must be a label.
std::optional<std::string> label_member(const json::object& o, std::string_view key, std::string fallback,
                                        const limits& lim) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return fallback;
  if (!v->is_string() || !valid_label(v->get_string(), lim.max_label_bytes)) return std::nullopt;
  return std::string(v->get_string());
}

std::optional<document_ref> document_member(const json::object& o, const limits& lim) {
  auto raw = string_member(o, "document_id");
  if (!raw) return std::nullopt;
  return parse_document_id(*raw, lim);
}

}  // namespace

std::optional<std::string> parse_token(const json::value& auth, const limits& lim) {
  if (!auth.is_object()) return std::nullopt;
  auto t = string_member(auth.get_object(), "token");
  if (!t || t->empty() || t->size() > lim.max_token_bytes) return std::nullopt;
  return t;
}

std::optional<std::string> parse_auth_event(const socketio::payload& p, const limits& lim) {
  const auto* o = first_object(p);
  if (!o) return std::nullopt;
  const auto* auth = o->if_contains("auth");
  if (!auth) return std::nullopt;
  return parse_token(*auth, lim);
}

std::optional<join_note_event> parse_join_note(const socketio::payload& p, const limits& lim) {
  const auto* o = first_object(p);
  if (!o) return std::nullopt;
  auto note = id_member(*o, "note_id", lim);
  auto token = parse_auth_event(p, lim);
  if (!note || !token) return std::nullopt;
  return join_note_event{std::move(*note), std::move(*token)};
}

std::optional<std::string> parse_usage(const socketio::payload& p, const limits& lim) {
  const auto* o = first_object(p);
  if (!o) return std::nullopt;
  auto model = string_member(*o, "model");
  if (!model || !valid_label(*model, lim.max_model_bytes)) return std::nullopt;
  return model;
}

std::optional<channel_event> parse_channel_event(const socketio::payload& p, const limits& lim) {
  const auto* o = first_object(p);
  if (!o) return std::nullopt;
  channel_event e;
  auto channel = id_member(*o, "channel_id", lim);
  if (!channel) return std::nullopt;
  e.channel_id = std::move(*channel);
  if (const auto* m = o->if_contains("message_id"); m && !m->is_null()) {
    if (!m->is_string() || !valid_id(m->get_string(), lim.max_id_bytes)) return std::nullopt;
    e.message_id = *m;
  }
  const auto* d = o->if_contains("data");
  if (!d || !d->is_object()) return std::nullopt;
  auto type = string_member(d->get_object(), "type");
  if (!type || (*type != "typing" && *type != "last_read_at")) return std::nullopt;
  if (base::pyjson::dump(*d, base::pyjson::style::compact).size() > lim.max_relay_bytes) return std::nullopt;
  e.type = std::move(*type);
  e.data = *d;
  return e;
}

std::optional<std::string> parse_chat_read(const socketio::payload& p, const limits& lim) {
  const auto* o = first_object(p);
  if (!o) return std::nullopt;
  auto chat = id_member(*o, "chat_id", lim);
  const auto* d = o->if_contains("data");
  if (!chat || !d || !d->is_object()) return std::nullopt;
  auto type = string_member(d->get_object(), "type");
  if (!type || *type != "last_read_at") return std::nullopt;
  return chat;
}

std::optional<ydoc_join_event> parse_ydoc_join(const socketio::payload& p, std::string_view sid, const limits& lim) {
  const auto* o = first_object(p);
  if (!o) return std::nullopt;
  auto doc = document_member(*o, lim);
  auto user_id = label_member(*o, "user_id", std::string(sid), lim);
  auto user_name = label_member(*o, "user_name", "Anonymous", lim);
  auto user_color = label_member(*o, "user_color", "#000000", lim);
  if (!doc || !user_id || !user_name || !user_color) return std::nullopt;
  return ydoc_join_event{std::move(*doc), std::move(*user_id), std::move(*user_name), std::move(*user_color)};
}

std::optional<document_ref> parse_document_event(const socketio::payload& p, const limits& lim) {
  const auto* o = first_object(p);
  if (!o) return std::nullopt;
  return document_member(*o, lim);
}

std::optional<yjs::byte_buffer> parse_bytes(const json::value& v, const socketio::payload& p, std::size_t max) {
  if (const auto* bin = p.attachment(v)) {
    if (bin->size() > max) return std::nullopt;
    return yjs::byte_buffer(bin->begin(), bin->end());
  }
  if (!v.is_array()) return std::nullopt;
  const auto& a = v.get_array();
  if (a.size() > max) return std::nullopt;
  yjs::byte_buffer out;
  out.reserve(a.size());
  for (const auto& e : a) {
    std::int64_t b = -1;
    if (e.is_int64()) b = e.get_int64();
    else if (e.is_uint64() && e.get_uint64() <= 255) b = static_cast<std::int64_t>(e.get_uint64());
    if (b < 0 || b > 255) return std::nullopt;
    out.push_back(static_cast<std::uint8_t>(b));
  }
  return out;
}

std::optional<ydoc_update_event> parse_ydoc_update(const socketio::payload& p, std::string_view sid,
                                                   const limits& lim) {
  const auto* o = first_object(p);
  if (!o) return std::nullopt;
  ydoc_update_event e;
  auto doc = document_member(*o, lim);
  auto user_id = label_member(*o, "user_id", std::string(sid), lim);
  const auto* u = o->if_contains("update");
  if (!doc || !user_id || !u) return std::nullopt;
  auto bytes = parse_bytes(*u, p, lim.max_update_bytes);
  if (!bytes || bytes->empty()) return std::nullopt;
  e.doc = std::move(*doc);
  e.user_id = std::move(*user_id);
  e.update = std::move(*bytes);
  // Python schedules the save only for a truthy `data`; its value is merged into note.data.
  if (const auto* d = o->if_contains("data"); d && !d->is_null()) {
    if (!d->is_object()) return std::nullopt;
    if (!d->get_object().empty()) {
      auto text = base::pyjson::dump(*d, base::pyjson::style::compact);
      if (text.size() > lim.max_save_bytes) return std::nullopt;
      e.save = std::move(text);
    }
  }
  return e;
}

std::optional<awareness_event> parse_awareness(const socketio::payload& p, const limits& lim) {
  const auto* o = first_object(p);
  if (!o) return std::nullopt;
  auto doc = document_member(*o, lim);
  const auto* u = o->if_contains("update");
  if (!doc || !u) return std::nullopt;
  auto bytes = parse_bytes(*u, p, lim.max_awareness_bytes);
  if (!bytes) return std::nullopt;
  return awareness_event{std::move(*doc), std::move(*bytes)};
}

json::array int_list(yjs::byte_view bytes) {
  json::array a;
  a.reserve(bytes.size());
  for (auto b : bytes) a.emplace_back(static_cast<std::int64_t>(b));
  return a;
}

namespace {

json::value json_column(const std::optional<std::string>& text) {
  if (!text) return nullptr;
  // Written by Python (json.dumps); read as json.loads reads it.
  auto v = base::pyjson::load(*text, 1000);
  auto* ok = std::get_if<json::value>(&v);
  if (!ok) return nullptr;
  base::pyjson::null_non_finite(*ok);  // the entry is JSON for every reader: no NaN tokens
  return std::move(*ok);
}

json::value optional_string(const std::optional<std::string>& s) {
  if (!s) return nullptr;
  return json::string(*s);
}

}  // namespace

json::value pool_settings(const std::optional<std::string>& settings_json) {
  auto v = json_column(settings_json);
  if (!v.is_object()) return nullptr;
  auto& stored = v.get_object();
  json::object out;
  out.reserve(stored.size() + 1);
  // UserSettings declares `ui` (default {}) and allows extra keys, which Pydantic dumps after it.
  if (const auto* ui = stored.if_contains("ui")) out["ui"] = *ui;
  else out["ui"] = json::object();
  for (auto& kv : stored)
    if (kv.key() != "ui") out[kv.key()] = std::move(kv.value());
  return out;
}

json::object pool_entry(const db::user_row& u, std::int64_t last_seen_at) {
  json::object o;
  o.reserve(18);
  o["id"] = u.id;
  o["email"] = u.email;
  o["username"] = optional_string(u.username);
  o["role"] = u.role;
  o["name"] = u.name;
  o["timezone"] = optional_string(u.timezone);
  o["presence_state"] = optional_string(u.presence_state);
  o["status_emoji"] = optional_string(u.status_emoji);
  o["status_message"] = optional_string(u.status_message);
  if (u.status_expires_at) o["status_expires_at"] = *u.status_expires_at;
  else o["status_expires_at"] = nullptr;
  o["info"] = json_column(u.info);
  o["settings"] = pool_settings(u.settings);
  o["oauth"] = json_column(u.oauth);
  o["scim"] = json_column(u.scim);
  o["last_active_at"] = u.last_active_at;
  o["updated_at"] = u.updated_at;
  o["created_at"] = u.created_at;
  o["last_seen_at"] = last_seen_at;
  return o;
}

rate_limiter::rate_limiter(double rate, double burst) noexcept
    : rate_(rate > 0 ? rate : 1), burst_(burst >= 1 ? burst : 1), tokens_(burst_) {}

bool rate_limiter::take(std::chrono::steady_clock::time_point now) noexcept {
  if (started_) {
    const std::chrono::duration<double> dt = now - last_;
    if (dt.count() > 0) tokens_ = std::min(burst_, tokens_ + dt.count() * rate_);
  }
  started_ = true;
  last_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

}  // namespace owcore::realtime::openwebui
