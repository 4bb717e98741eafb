// libFuzzer target for what a browser sends to Open WebUI's Socket.IO handlers
// (tests/fuzz/run_fuzz openwebui): the event payloads after the Socket.IO decoder (JSON with
// binary attachments), through every parser of realtime/openwebui/payloads, and the user
// `settings` column through pool_settings. Properties, the ones docs/openwebui-events.md
// promises: no client input becomes a Redis key or room outside the documented patterns
// (`note:<id>` documents with ids of [A-Za-z0-9_-], rooms `doc_note:<id>`); every accepted value
// respects its size limit; int lists round-trip their bytes.
//
// Input: one Socket.IO text packet, then binary attachments separated by 0xFF bytes.
//
// fuzz-sources: src/owcore/realtime/openwebui/payloads.cpp src/owcore/realtime/socketio/packet.cpp
// fuzz-sources: src/owcore/realtime/socketio/error.cpp src/owcore/realtime/engineio/packet.cpp
// fuzz-sources: src/owcore/realtime/engineio/error.cpp src/owcore/yjs/lib0.cpp src/owcore/yjs/error.cpp
// fuzz-libs: -lboost_json
#include "owcore/realtime/openwebui/payloads.hpp"
#include "owcore/realtime/socketio/packet.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace ow = owcore::realtime::openwebui;
namespace sio = owcore::realtime::socketio;

namespace {

[[noreturn]] void broken(const char* what) {
  __builtin_printf("property broken: %s\n", what);
  std::abort();
}

const ow::limits lim;

void check_document(const ow::document_ref& d) {
  if (!d.note_id) broken("a non-note document accepted without the opt-in");
  if (d.id != "note:" + *d.note_id) broken("a note document id not note:<id>");
  if (!ow::valid_id(*d.note_id, lim.max_id_bytes)) broken("a note id outside [A-Za-z0-9_-]");
  if (d.room() != "doc_note:" + *d.note_id) broken("a document room outside doc_note:<id>");
}

void check_bytes(const owcore::yjs::byte_buffer& b, std::size_t max) {
  if (b.size() > max) broken("bytes over their limit");
  const auto list = ow::int_list(b);
  if (list.size() != b.size()) broken("int_list changed the length");
  for (std::size_t i = 0; i < b.size(); ++i)
    if (list[i].as_int64() != static_cast<std::int64_t>(b[i])) broken("int_list changed a byte");
}

void handlers(const sio::payload& p) {
  const std::string sid = "AbCdEfGhIjKlMnOpQrSt";
  if (auto t = ow::parse_auth_event(p, lim); t && t->size() > lim.max_token_bytes) broken("a token over its limit");
  if (auto j = ow::parse_join_note(p, lim); j && !ow::valid_id(j->note_id, lim.max_id_bytes)) broken("a bad note id");
  if (auto m = ow::parse_usage(p, lim); m && !ow::valid_label(*m, lim.max_model_bytes)) broken("a bad model id");
  if (auto c = ow::parse_channel_event(p, lim)) {
    if (!ow::valid_id(c->channel_id, lim.max_id_bytes)) broken("a bad channel id");
    if (c->type != "typing" && c->type != "last_read_at") broken("an unknown channel event type");
  }
  if (auto c = ow::parse_chat_read(p, lim); c && !ow::valid_id(*c, lim.max_id_bytes)) broken("a bad chat id");
  if (auto j = ow::parse_ydoc_join(p, sid, lim)) {
    check_document(j->doc);
    for (const auto* s : {&j->user_id, &j->user_name, &j->user_color})
      if (s->size() > lim.max_label_bytes) broken("a label over its limit");
  }
  if (auto d = ow::parse_document_event(p, lim)) check_document(*d);
  if (auto u = ow::parse_ydoc_update(p, sid, lim)) {
    check_document(u->doc);
    check_bytes(u->update, lim.max_update_bytes);
    if (u->update.empty()) broken("an empty update accepted");
    if (u->save && u->save->size() > lim.max_save_bytes) broken("a save over its limit");
  }
  if (auto a = ow::parse_awareness(p, lim)) {
    check_document(a->doc);
    check_bytes(a->update, lim.max_awareness_bytes);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The `settings` column of a user row, as Python wrote it (or anyone with database access).
  (void)ow::pool_settings(std::string(in.substr(0, in.find('\xff'))));
  sio::decoder d;
  bool first = true;
  while (!in.empty()) {
    const auto cut = in.find('\xff');
    const auto msg = in.substr(0, cut);
    in = cut == std::string_view::npos ? std::string_view{} : in.substr(cut + 1);
    auto r = first ? d.feed_text(msg) : d.feed_binary(std::string(msg));
    first = false;
    if (!r) return 0;
    if (!*r) continue;
    auto& pk = **r;
    if (!pk.data || !pk.data->is_array() || pk.data->get_array().empty()) return 0;
    sio::payload p;
    const auto& arr = pk.data->get_array();
    p.args = boost::json::array(arr.begin() + 1, arr.end());
    p.attachments = std::move(pk.attachments);
    handlers(p);
    return 0;
  }
  return 0;
}
