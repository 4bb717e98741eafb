#include "owcore/realtime/adapter/socketio_pubsub.hpp"

#include "owcore/base/base64.hpp"
#include "owcore/base/hex.hpp"
#include "owcore/base/pyjson.hpp"
#include "owcore/base/uuid.hpp"

#include <utility>

namespace owcore::realtime::adapter::socketio_pubsub {

namespace json = boost::json;
using boost::system::error_code;

namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "owcore.realtime.socketio_pubsub"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::too_large: return "pub/sub message exceeds the size limit";
      case error::invalid_json: return "invalid JSON";
      case error::too_deep: return "JSON nesting exceeds the depth limit";
      case error::integer_too_long: return "integer literal longer than 100 characters";
      case error::not_an_object: return "pub/sub message is not a JSON object";
      case error::missing_field: return "required field missing";
      case error::wrong_type: return "field has the wrong type";
      case error::unknown_method: return "unknown pub/sub method";
      case error::invalid_host_id: return "host_id is not 32 lowercase hex digits";
      case error::invalid_namespace: return "namespace does not start with '/'";
      case error::string_too_long: return "name exceeds the length limit";
      case error::empty_sid: return "empty sid";
      case error::too_many_elements: return "list exceeds its length limit";
      case error::invalid_ack_id: return "ack id is not a non-negative integer";
      case error::invalid_binary: return "malformed binary attachments";
      case error::queue_full: return "publish queue is full";
      case error::stopped: return "channel stopped";
    }
    return "unknown socketio_pubsub error";
  }
};

decode_error make_error(error e, std::string where) {
  return decode_error{make_error_code(e), std::move(where)};
}

// Binary attachments travel as standard, padded base64 (base64.b64encode); decoding ignores
// non-zero trailing bits, as binascii does.
constexpr base::base64_decode_options attachment_base64{base::base64_alphabet::standard, false,
                                                        base::base64_padding::required, false};

bool valid_base64(std::string_view in) {
  return base::base64_decode(in, attachment_base64).has_value();
}

// ---------------------------------------------------------------------------------------------
// Validation helpers

bool python_truthy(const json::value& v) noexcept {
  switch (v.kind()) {
    case json::kind::null: return false;
    case json::kind::bool_: return v.get_bool();
    case json::kind::int64: return v.get_int64() != 0;
    case json::kind::uint64: return v.get_uint64() != 0;
    case json::kind::double_: return v.get_double() != 0.0;  // NaN is truthy, as in Python
    case json::kind::string: return !v.get_string().empty();
    case json::kind::array: return !v.get_array().empty();
    case json::kind::object: return !v.get_object().empty();
  }
  return false;
}

std::optional<std::uint64_t> as_index(const json::value& v) noexcept {
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
  if (v.is_uint64()) return v.get_uint64();
  return std::nullopt;
}

// Where a nested value sits, e.g. data[0][2]{1} ({k}: the k-th member of an object; member names
// are payload bytes and stay out of logs). Rendered only when an error is reported.
struct path {
  const path* parent = nullptr;
  const char* root = nullptr;  ///< set on the outermost node only
  std::size_t index = 0;
  bool member = false;

  std::string render() const {
    std::string s = parent ? parent->render() : std::string(root ? root : "");
    if (parent) s += (member ? "{" : "[") + std::to_string(index) + (member ? "}" : "]");
    return s;
  }
};

// Walks a container at nesting level `depth` (1 = the message object) checking the depth limit
// and, when `attachments` is set, that every placeholder names an existing attachment.
std::optional<decode_error> check_tree(const json::value& v, std::size_t depth, const limits& lim,
                                       std::optional<std::size_t> attachments, const path& at);

std::optional<decode_error> check_array(const json::array& a, std::size_t depth, const limits& lim,
                                        std::optional<std::size_t> attachments, const path& at) {
  if (depth > lim.max_depth) return make_error(error::too_deep, at.render());
  std::size_t k = 0;
  for (const auto& e : a) {
    if (e.is_array() || e.is_object())
      if (auto err = check_tree(e, depth + 1, lim, attachments, path{&at, nullptr, k, false}))
        return err;
    ++k;
  }
  return std::nullopt;
}

std::optional<decode_error> check_tree(const json::value& v, std::size_t depth, const limits& lim,
                                       std::optional<std::size_t> attachments, const path& at) {
  if (v.is_array()) return check_array(v.get_array(), depth, lim, attachments, at);
  if (!v.is_object()) return std::nullopt;
  if (depth > lim.max_depth) return make_error(error::too_deep, at.render());
  if (attachments && is_placeholder(v)) {
    const auto num = as_index(v.get_object().at("num"));
    if (!num || *num >= *attachments)
      return make_error(error::invalid_binary, at.render() + ".num");
    return std::nullopt;
  }
  std::size_t k = 0;
  for (const auto& kv : v.get_object()) {
    const auto& e = kv.value();
    if (e.is_array() || e.is_object())
      if (auto err = check_tree(e, depth + 1, lim, attachments, path{&at, nullptr, k, true}))
        return err;
    ++k;
  }
  return std::nullopt;
}

std::optional<decode_error> check_name(std::string_view s, const limits& lim, const char* where) {
  if (s.size() > lim.max_name_bytes) return make_error(error::string_too_long, where);
  return std::nullopt;
}

std::optional<decode_error> check_sid(std::string_view s, const limits& lim, const char* where) {
  if (s.empty()) return make_error(error::empty_sid, where);
  return check_name(s, lim, where);
}

std::optional<decode_error> check_nsp(std::string_view s, const limits& lim, const char* where) {
  if (s.empty() || s.front() != '/') return make_error(error::invalid_namespace, where);
  return check_name(s, lim, where);
}

std::optional<decode_error> check_host(std::string_view s) {
  if (!valid_host_id(s)) return make_error(error::invalid_host_id, "host_id");
  return std::nullopt;
}

std::optional<decode_error> check_target(const target& t, bool is_room, const limits& lim,
                                         const char* where) {
  if (const auto* s = std::get_if<std::string>(&t)) return check_name(*s, lim, where);
  if (const auto* l = std::get_if<std::vector<std::string>>(&t)) {
    if (is_room && l->empty())
      return make_error(error::wrong_type, where);  // Python indexes room[0]
    if (l->size() > lim.max_targets) return make_error(error::too_many_elements, where);
    for (std::size_t k = 0; k < l->size(); ++k)
      if ((*l)[k].size() > lim.max_name_bytes)
        return make_error(error::string_too_long,
                          std::string(where) + "[" + std::to_string(k) + "]");
  }
  return std::nullopt;
}

std::optional<decode_error> check_binary_data(const json::array& data, const limits& lim) {
  if (data.empty()) return make_error(error::invalid_binary, "data");
  if (!data[0].is_array()) return make_error(error::invalid_binary, "data[0]");
  if (data[0].get_array().size() > lim.max_args)
    return make_error(error::too_many_elements, "data[0]");
  const std::size_t n = data.size() - 1;
  if (n > lim.max_attachments) return make_error(error::too_many_elements, "data");
  for (std::size_t k = 1; k < data.size(); ++k)
    if (!data[k].is_string() || !valid_base64(data[k].get_string()))
      return make_error(error::invalid_binary, "data[" + std::to_string(k) + "]");
  return check_tree(data[0], 3, lim, n, path{nullptr, "data[0]", 0, false});
}

struct validator {
  const limits& lim;

  std::optional<decode_error> operator()(const emit_message& m) const {
    if (auto e = check_name(m.event, lim, "event")) return e;
    if (auto e = check_nsp(m.nsp, lim, "namespace")) return e;
    if (auto e = check_target(m.room, true, lim, "room")) return e;
    if (auto e = check_target(m.skip_sid, false, lim, "skip_sid")) return e;
    if (m.callback) {
      if (auto e = check_sid(m.callback->room, lim, "callback[0]")) return e;
      if (auto e = check_nsp(m.callback->nsp, lim, "callback[1]")) return e;
    }
    if (auto e = check_host(m.host_id)) return e;
    if (m.binary) return check_binary_data(m.data, lim);
    if (m.data.size() > lim.max_args) return make_error(error::too_many_elements, "data");
    return check_array(m.data, 2, lim, std::nullopt, path{nullptr, "data", 0, false});
  }
  std::optional<decode_error> operator()(const callback_message& m) const {
    if (auto e = check_host(m.host_id)) return e;
    if (auto e = check_sid(m.sid, lim, "sid")) return e;
    if (auto e = check_nsp(m.nsp, lim, "namespace")) return e;
    if (m.args.size() > lim.max_args) return make_error(error::too_many_elements, "args");
    return check_array(m.args, 2, lim, std::nullopt, path{nullptr, "args", 0, false});
  }
  std::optional<decode_error> operator()(const disconnect_message& m) const {
    if (auto e = check_sid(m.sid, lim, "sid")) return e;
    if (auto e = check_nsp(m.nsp, lim, "namespace")) return e;
    return check_host(m.host_id);
  }
  template <class Room>
  requires std::is_same_v<Room, enter_room_message> || std::is_same_v<Room, leave_room_message>
      std::optional<decode_error>
  operator()(const Room& m) const {
    if (auto e = check_sid(m.sid, lim, "sid")) return e;
    if (auto e = check_name(m.room, lim, "room")) return e;
    if (auto e = check_nsp(m.nsp, lim, "namespace")) return e;
    return check_host(m.host_id);
  }
  std::optional<decode_error> operator()(const close_room_message& m) const {
    if (auto e = check_name(m.room, lim, "room")) return e;
    if (auto e = check_nsp(m.nsp, lim, "namespace")) return e;
    return check_host(m.host_id);
  }
};

// ---------------------------------------------------------------------------------------------
// Message decoding: types first (here), then values (validate).

class field_reader {
 public:
  field_reader(json::object& o, const limits& lim) : o_(o), lim_(lim) {}

  std::optional<decode_error> err;

  json::value* get(std::string_view k, bool required) {
    auto* v = o_.if_contains(k);
    if (!v && required) fail(error::missing_field, std::string(k));
    return v;
  }
  bool fail(error e, std::string where) {
    if (!err) err = make_error(e, std::move(where));
    return false;
  }
  bool str(std::string_view k, std::string& out) {
    auto* v = get(k, true);
    if (!v) return false;
    if (!v->is_string()) return fail(error::wrong_type, std::string(k));
    out = v->get_string();
    return true;
  }
  bool index(json::value& v, std::uint64_t& out, std::string where) {
    if (auto i = as_index(v)) {
      out = *i;
      return true;
    }
    return fail(v.is_number() ? error::invalid_ack_id : error::wrong_type, std::move(where));
  }
  bool target_field(std::string_view k, target& out) {
    auto* v = get(k, false);
    if (!v || v->is_null()) {
      out = std::monostate{};
      return true;
    }
    if (v->is_string()) {
      out = std::string(v->get_string());
      return true;
    }
    if (!v->is_array()) return fail(error::wrong_type, std::string(k));
    const auto& a = v->get_array();
    if (a.size() > lim_.max_targets) return fail(error::too_many_elements, std::string(k));
    std::vector<std::string> list;
    list.reserve(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_string())
        return fail(error::wrong_type, std::string(k) + "[" + std::to_string(i) + "]");
      list.emplace_back(a[i].get_string());
    }
    out = std::move(list);
    return true;
  }
  bool args(std::string_view k, json::array& out) {
    auto* v = get(k, true);
    if (!v) return false;
    if (!v->is_array()) return fail(error::wrong_type, std::string(k));
    out = std::move(v->get_array());
    return true;
  }

 private:
  json::object& o_;
  const limits& lim_;
};

std::optional<decode_error> read_emit(field_reader& r, emit_message& m) {
  r.str("event", m.event);
  if (auto* b = r.get("binary", false); b && !b->is_null()) {
    if (!b->is_bool()) r.fail(error::wrong_type, "binary");
    else m.binary = b->get_bool();
  }
  if (auto* d = r.get("data", true)) {
    if (m.binary) {
      if (!d->is_array() || d->get_array().empty()) {
        r.fail(error::invalid_binary, "data");
      } else {
        m.data = std::move(d->get_array());
        // Senders before python-socketio 5.15.1 put the bare value first: one argument.
        if (!m.data[0].is_array()) {
          json::array one;
          one.emplace_back(std::move(m.data[0]));
          m.data[0] = std::move(one);
        }
      }
    } else if (d->is_array()) {
      m.data = std::move(d->get_array());
    } else {
      m.data.emplace_back(std::move(*d));
    }
  }
  r.str("namespace", m.nsp);
  r.target_field("room", m.room);
  r.target_field("skip_sid", m.skip_sid);
  if (auto* c = r.get("callback", false); c && !c->is_null()) {
    // Python ignores a callback that is not a 3-element list; untrusted input is rejected here.
    if (!c->is_array() || c->get_array().size() != 3 || !c->get_array()[0].is_string() ||
        !c->get_array()[1].is_string()) {
      r.fail(error::wrong_type, "callback");
    } else {
      auto& a = c->get_array();
      ack_ref ack;
      ack.room = a[0].get_string();
      ack.nsp = a[1].get_string();
      if (r.index(a[2], ack.id, "callback[2]")) m.callback = std::move(ack);
    }
  }
  r.str("host_id", m.host_id);
  return r.err;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API

const boost::system::error_category& protocol_category() noexcept {
  static const category instance;
  return instance;
}

std::variant<json::value, decode_error> load_json(std::string_view text, const limits& lim) {
  if (text.size() > lim.max_message_bytes) return make_error(error::too_large, "payload");
  auto r = base::pyjson::load(text, lim.max_depth);
  if (auto* v = std::get_if<json::value>(&r)) return std::move(*v);
  const auto& f = std::get<base::pyjson::load_failure>(r);
  const error e = f.code == base::pyjson::load_error::too_deep           ? error::too_deep
                  : f.code == base::pyjson::load_error::integer_too_long ? error::integer_too_long
                                                                         : error::invalid_json;
  return make_error(e, "offset " + std::to_string(f.offset));
}

std::string_view method_name(const message& m) noexcept {
  static constexpr std::string_view names[] = {"emit",       "callback",   "disconnect",
                                               "enter_room", "leave_room", "close_room"};
  return m.valueless_by_exception() ? std::string_view{} : names[m.index()];
}

const std::string& host_id_of(const message& m) noexcept {
  static const std::string none;
  if (m.valueless_by_exception()) return none;
  return std::visit([](const auto& x) -> const std::string& { return x.host_id; }, m);
}

std::string& host_id_of(message& m) noexcept {
  if (m.valueless_by_exception()) m = close_room_message{};
  return std::visit([](auto& x) -> std::string& { return x.host_id; }, m);
}

std::optional<decode_error> validate(const message& m, const limits& lim) {
  return std::visit(validator{lim}, m);
}

std::variant<message, decode_error> decode(std::string_view payload, const limits& lim) {
  auto parsed = load_json(payload, lim);
  if (auto* e = std::get_if<decode_error>(&parsed)) return std::move(*e);
  auto& root = std::get<json::value>(parsed);
  if (!root.is_object()) return make_error(error::not_an_object, "payload");
  auto& obj = root.get_object();
  field_reader r(obj, lim);
  std::string method;
  if (!r.str("method", method)) return std::move(*r.err);

  message out;
  if (method == "emit") {
    emit_message m;
    read_emit(r, m);
    out = std::move(m);
  } else if (method == "callback") {
    callback_message m;
    r.str("host_id", m.host_id);
    r.str("sid", m.sid);
    r.str("namespace", m.nsp);
    if (auto* id = r.get("id", true)) r.index(*id, m.id, "id");
    r.args("args", m.args);
    out = std::move(m);
  } else if (method == "disconnect") {
    disconnect_message m;
    r.str("sid", m.sid);
    r.str("namespace", m.nsp);
    r.str("host_id", m.host_id);
    out = std::move(m);
  } else if (method == "enter_room" || method == "leave_room") {
    enter_room_message m;
    r.str("sid", m.sid);
    r.str("room", m.room);
    r.str("namespace", m.nsp);
    r.str("host_id", m.host_id);
    if (method == "enter_room") out = std::move(m);
    else
      out = leave_room_message{std::move(m.sid), std::move(m.room), std::move(m.nsp),
                               std::move(m.host_id)};
  } else if (method == "close_room") {
    close_room_message m;
    r.str("room", m.room);
    r.str("namespace", m.nsp);
    r.str("host_id", m.host_id);
    out = std::move(m);
  } else {
    return make_error(error::unknown_method, "method");
  }
  if (r.err) return std::move(*r.err);
  if (auto err = validate(out, lim)) return std::move(*err);
  return out;
}

json::value make_placeholder(std::size_t num) {
  json::object o;
  o["_placeholder"] = true;
  o["num"] = static_cast<std::uint64_t>(num);
  return o;
}

json::value add_attachment(event_args& ea, std::string bytes) {
  ea.attachments.push_back(std::move(bytes));
  return make_placeholder(ea.attachments.size() - 1);
}

bool is_placeholder(const json::value& v) noexcept {
  const auto* o = v.if_object();
  if (!o) return false;
  const auto* p = o->if_contains("_placeholder");
  return p && python_truthy(*p) && o->contains("num");
}

std::pair<json::array, bool> to_wire(const event_args& ea) {
  if (ea.attachments.empty()) return {ea.args, false};
  json::array data;
  data.reserve(ea.attachments.size() + 1);
  data.emplace_back(ea.args);
  for (const auto& a : ea.attachments) data.emplace_back(base::base64_encode(a));
  return {std::move(data), true};
}

void set_args(emit_message& m, const event_args& ea) {
  auto [data, binary] = to_wire(ea);
  m.data = std::move(data);
  m.binary = binary;
}

boost::system::result<event_args> from_wire(const json::array& data, bool binary,
                                            const limits& lim) {
  event_args ea;
  if (!binary) {
    ea.args = data;
    return ea;
  }
  if (auto err = check_binary_data(data, lim)) return err->code;
  ea.args = data[0].get_array();
  ea.attachments.reserve(data.size() - 1);
  for (std::size_t k = 1; k < data.size(); ++k) {
    auto bytes = base::base64_decode(data[k].get_string(), attachment_base64);
    if (!bytes) return make_error_code(error::invalid_binary);
    ea.attachments.push_back(std::move(*bytes));
  }
  return ea;
}

boost::system::result<event_args> get_args(const emit_message& m, const limits& lim) {
  return from_wire(m.data, m.binary, lim);
}

std::string make_host_id() { return base::uuid4_hex(); }

bool valid_host_id(std::string_view s) noexcept { return base::is_lower_hex(s, 32); }

bool should_process(const message& m, std::string_view own_host_id) noexcept {
  const bool own = host_id_of(m) == own_host_id;
  return std::holds_alternative<callback_message>(m) ? own : !own;
}

}  // namespace owcore::realtime::adapter::socketio_pubsub
