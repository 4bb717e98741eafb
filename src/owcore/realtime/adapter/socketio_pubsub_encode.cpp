// Encoding python-socketio's pub/sub messages: JSON objects with the keys in python-socketio's
// dict order, written as Python's json.dumps writes them (docs/wire.md, "Pub/sub messages").
#include "owcore/realtime/adapter/socketio_pubsub.hpp"

#include "owcore/base/pyjson.hpp"

#include <string>

namespace owcore::realtime::adapter::socketio_pubsub {

namespace json = boost::json;

namespace {

class object_writer {
 public:
  object_writer(std::string& out, json_style style) : out_(out), style_(style) { out_ += '{'; }
  object_writer& key(std::string_view k) {
    if (!first_) out_ += base::pyjson::item_separator(style_);
    first_ = false;
    base::pyjson::dump_string(k, style_, out_);
    out_ += base::pyjson::key_separator(style_);
    return *this;
  }
  object_writer& str(std::string_view k, std::string_view v) {
    key(k);
    base::pyjson::dump_string(v, style_, out_);
    return *this;
  }
  object_writer& val(std::string_view k, const json::value& v) {
    key(k);
    base::pyjson::dump(v, style_, out_);
    return *this;
  }
  object_writer& raw(std::string_view k, std::string_view text) {
    key(k);
    out_ += text;
    return *this;
  }
  object_writer& target_field(std::string_view k, const target& t) {
    key(k);
    if (const auto* s = std::get_if<std::string>(&t)) {
      base::pyjson::dump_string(*s, style_, out_);
    } else if (const auto* l = std::get_if<std::vector<std::string>>(&t)) {
      out_ += '[';
      for (std::size_t i = 0; i < l->size(); ++i) {
        if (i) out_ += base::pyjson::item_separator(style_);
        base::pyjson::dump_string((*l)[i], style_, out_);
      }
      out_ += ']';
    } else {
      out_ += "null";
    }
    return *this;
  }
  void close() { out_ += '}'; }

 private:
  std::string& out_;
  json_style style_;
  bool first_ = true;
};

struct encoder {
  std::string& out;
  json_style style;

  void operator()(const emit_message& m) const {
    object_writer w(out, style);
    w.str("method", "emit").str("event", m.event).key("data");
    base::pyjson::dump(m.data, style, out);
    w.raw("binary", m.binary ? "true" : "false")
        .str("namespace", m.nsp)
        .target_field("room", m.room);
    w.target_field("skip_sid", m.skip_sid).key("callback");
    if (m.callback) {
      out += '[';
      base::pyjson::dump_string(m.callback->room, style, out);
      out += base::pyjson::item_separator(style);
      base::pyjson::dump_string(m.callback->nsp, style, out);
      out += base::pyjson::item_separator(style);
      out += std::to_string(m.callback->id);
      out += ']';
    } else {
      out += "null";
    }
    w.str("host_id", m.host_id).close();
  }
  void operator()(const callback_message& m) const {
    object_writer w(out, style);
    w.str("method", "callback").str("host_id", m.host_id).str("sid", m.sid).str("namespace", m.nsp);
    w.raw("id", std::to_string(m.id)).key("args");
    base::pyjson::dump(m.args, style, out);
    w.close();
  }
  void operator()(const disconnect_message& m) const {
    object_writer(out, style)
        .str("method", "disconnect")
        .str("sid", m.sid)
        .str("namespace", m.nsp)
        .str("host_id", m.host_id)
        .close();
  }
  void operator()(const enter_room_message& m) const {
    room_change("enter_room", m.sid, m.room, m.nsp, m.host_id);
  }
  void operator()(const leave_room_message& m) const {
    room_change("leave_room", m.sid, m.room, m.nsp, m.host_id);
  }
  void operator()(const close_room_message& m) const {
    object_writer(out, style)
        .str("method", "close_room")
        .str("room", m.room)
        .str("namespace", m.nsp)
        .str("host_id", m.host_id)
        .close();
  }
  void room_change(std::string_view method, const std::string& sid, const std::string& room,
                   const std::string& nsp, const std::string& host) const {
    object_writer(out, style)
        .str("method", method)
        .str("sid", sid)
        .str("room", room)
        .str("namespace", nsp)
        .str("host_id", host)
        .close();
  }
};

}  // namespace

void dump_json(const json::value& v, json_style style, std::string& out) {
  base::pyjson::dump(v, style, out);
}

std::string dump_json(const json::value& v, json_style style) {
  return base::pyjson::dump(v, style);
}

std::string encode(const message& m, json_style style) {
  std::string out;
  std::visit(encoder{out, style}, m);
  return out;
}

}  // namespace owcore::realtime::adapter::socketio_pubsub
