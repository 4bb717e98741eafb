#include "owcore/realtime/adapter/redis_adapter.hpp"

#include "owcore/realtime/socketio/error.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/logger.h>

#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace owcore::realtime::adapter {

namespace rp = socketio_pubsub;

namespace {

// A broadcast_target's rooms as the wire `room`: null (whole namespace), one string or a list.
rp::target to_target(const std::vector<std::string>& v) {
  if (v.empty()) return std::monostate{};
  if (v.size() == 1) return v.front();
  return v;
}

std::vector<std::string> from_target(const rp::target& t) {
  if (const auto* s = std::get_if<std::string>(&t)) return {*s};
  if (const auto* l = std::get_if<std::vector<std::string>>(&t)) return *l;
  return {};
}

// Splits an EVENT packet's data [event, args...] into the event name and its arguments.
bool split_event(const socketio::packet& p, std::string& event, rp::event_args& ea) {
  if (!p.data || !p.data->is_array()) return false;
  const auto& arr = p.data->get_array();
  if (arr.empty() || !arr.front().is_string()) return false;
  event = std::string(arr.front().get_string());
  for (std::size_t i = 1; i < arr.size(); ++i) ea.args.push_back(arr[i]);
  ea.attachments = p.attachments;
  return true;
}

}  // namespace

redis_adapter::redis_adapter(net::executor ex, redis_adapter_options opts)
    : memory_adapter(opts.memory), ex_(std::move(ex)), timer_strand_(net::make_strand(ex_)), opts_(std::move(opts)) {}

redis_adapter::~redis_adapter() {
  // The channel keeps itself alive until stopped; never leave it running without its owner.
  if (channel_) channel_->stop();
}

std::shared_ptr<redis_adapter> redis_adapter::create(net::executor ex, std::shared_ptr<redis::client> client,
                                                     redis_adapter_options opts) {
  std::shared_ptr<redis_adapter> self(new redis_adapter(ex, std::move(opts)));
  std::weak_ptr<redis_adapter> weak = self;
  auto copts = self->opts_.channel;
  if (!copts.log) copts.log = self->opts_.log;
  if (!copts.has_local_room)
    copts.has_local_room = [weak](std::string_view nsp, std::string_view room) {
      auto a = weak.lock();
      return a && a->has_local_members(nsp, room);
    };
  self->channel_ = redis_channel::create(std::move(ex), std::move(client), std::move(copts),
                                         [weak](rp::message m) {
                                           if (auto a = weak.lock()) a->on_message(std::move(m));
                                         });
  return self;
}

void redis_adapter::start() { channel_->start(); }

void redis_adapter::stop() {
  channel_->stop();
  std::unordered_map<std::uint64_t, pending_call> calls;
  {
    std::lock_guard lock(calls_mutex_);
    stopped_ = true;
    calls.swap(calls_);
  }
  for (auto& [id, c] : calls) {
    boost::asio::post(timer_strand_, [t = std::move(c.timer)] { t->cancel(); });
    c.on_ack(socketio::error::disconnected);
  }
}

void redis_adapter::publish(rp::message m) {
  if (auto ec = channel_->publish(std::move(m)); ec && opts_.log)
    opts_.log->warn("socketio redis adapter: message not published: {}", ec.message());
}

// --- outgoing ---------------------------------------------------------------------------------

bool redis_adapter::add_room(const std::string& nsp, const std::string& sid, const std::string& room) {
  if (find(nsp, sid)) return add_room_local(nsp, sid, room);
  rp::enter_room_message m;
  m.sid = sid;
  m.room = room;
  m.nsp = nsp;
  publish(std::move(m));
  return false;
}

void redis_adapter::del_room(const std::string& nsp, const std::string& sid, const std::string& room) {
  if (find(nsp, sid)) {
    del_room_local(nsp, sid, room);
    return;
  }
  rp::leave_room_message m;
  m.sid = sid;
  m.room = room;
  m.nsp = nsp;
  publish(std::move(m));
}

void redis_adapter::close_room(const std::string& nsp, const std::string& room) {
  rp::close_room_message m;
  m.room = room;
  m.nsp = nsp;
  publish(std::move(m));
  close_room_local(nsp, room);
}

void redis_adapter::disconnect(const std::string& nsp, const std::string& sid) {
  if (disconnect_local(nsp, sid)) return;
  rp::disconnect_message m;
  m.sid = sid;
  m.nsp = nsp;
  publish(std::move(m));
}

void redis_adapter::broadcast(const socketio::packet& p, const broadcast_target& to) {
  deliver_local(p, to);
  rp::emit_message m;
  rp::event_args ea;
  if (!split_event(p, m.event, ea)) return;
  rp::set_args(m, ea);
  m.nsp = to.nsp;
  m.room = to_target(to.rooms);
  m.skip_sid = to_target(to.except);
  publish(std::move(m));
}

void redis_adapter::call(const std::string& nsp, const std::string& sid, socketio::packet event,
                         std::chrono::milliseconds timeout, ack_callback on_ack) {
  if (auto s = find(nsp, sid)) {
    s->deliver_call(std::move(event), timeout, std::move(on_ack));
    return;
  }
  rp::emit_message m;
  rp::event_args ea;
  if (!split_event(event, m.event, ea)) {
    on_ack(socketio::error::no_such_socket);
    return;
  }
  rp::set_args(m, ea);
  m.nsp = nsp;
  m.room = sid;

  // The timer lives on timer_strand_: it is armed here and cancelled from whichever thread
  // receives the answer, and an Asio timer must not be used from two threads at once.
  auto timer = std::make_shared<boost::asio::steady_timer>(timer_strand_, timeout);
  std::uint64_t id = 0;
  {
    std::lock_guard lock(calls_mutex_);
    if (stopped_ || calls_.size() >= opts_.max_pending_calls) {
      id = 0;
    } else {
      id = next_call_id_++;
      calls_.emplace(id, pending_call{std::move(on_ack), timer});
    }
  }
  if (id == 0) {
    on_ack(socketio::error::too_many_pending_acks);
    return;
  }
  m.callback = rp::ack_ref{sid, nsp, id};
  std::weak_ptr<redis_adapter> weak = weak_from_this();
  boost::asio::dispatch(timer_strand_, [timer, weak, id] {
    timer->async_wait([weak, id](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled: answered or stopped
      if (auto a = weak.lock()) a->finish_call(id, socketio::error::ack_timeout);
    });
  });
  if (auto ec = channel_->publish(std::move(m))) {
    if (opts_.log) opts_.log->warn("socketio redis adapter: call not published: {}", ec.message());
    finish_call(id, socketio::error::no_such_socket);
  }
}

void redis_adapter::finish_call(std::uint64_t id, ack_result r) {
  pending_call c;
  {
    std::lock_guard lock(calls_mutex_);
    auto it = calls_.find(id);
    if (it == calls_.end()) return;
    c = std::move(it->second);
    calls_.erase(it);
  }
  boost::asio::post(timer_strand_, [t = std::move(c.timer)] { t->cancel(); });
  c.on_ack(std::move(r));
}

// --- incoming ---------------------------------------------------------------------------------

void redis_adapter::on_message(rp::message m) {
  std::visit(
      [this](auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, rp::emit_message>) {
          on_emit(std::move(msg));
        } else if constexpr (std::is_same_v<T, rp::callback_message>) {
          on_callback(msg);
        } else if constexpr (std::is_same_v<T, rp::disconnect_message>) {
          disconnect_local(msg.nsp, msg.sid);
        } else if constexpr (std::is_same_v<T, rp::enter_room_message>) {
          add_room_local(msg.nsp, msg.sid, msg.room);
        } else if constexpr (std::is_same_v<T, rp::leave_room_message>) {
          del_room_local(msg.nsp, msg.sid, msg.room);
        } else {
          close_room_local(msg.nsp, msg.room);
        }
      },
      m);
}

void redis_adapter::on_emit(rp::emit_message m) {
  auto ea = rp::get_args(m, opts_.channel.limits);
  if (!ea) {
    if (opts_.log) opts_.log->warn("socketio redis adapter: emit with invalid arguments dropped");
    return;
  }
  // python-socketio delivers `[null]` (and `[]`) as an event without arguments.
  if (!m.binary && ea->args.size() == 1 && ea->args.front().is_null()) ea->args.clear();
  socketio::payload args;
  args.args = std::move(ea->args);
  args.attachments = std::move(ea->attachments);
  auto packet = socketio::make_event(m.nsp, m.event, std::move(args));

  broadcast_target to;
  to.nsp = m.nsp;
  to.rooms = from_target(m.room);
  to.except = from_target(m.skip_sid);
  if (!m.callback) {
    deliver_local(packet, to);
    return;
  }
  // A call from another host: every local member of the target gets it with an
  // acknowledgement, and each answer is published back (the caller keeps the first), as
  // python-socketio's _handle_emit does with its callback.
  std::weak_ptr<redis_adapter> weak = weak_from_this();
  for (const auto& s : local_targets(to)) {
    rp::callback_message reply;
    reply.host_id = m.host_id;
    reply.sid = m.callback->room;
    reply.nsp = m.callback->nsp;
    reply.id = m.callback->id;
    s->deliver_call(packet, opts_.remote_call_timeout, [weak, reply = std::move(reply)](ack_result r) mutable {
      if (!r) return;  // python-socketio sends nothing without an answer
      auto a = weak.lock();
      if (!a) return;
      reply.args = std::move(r->args);
      a->publish(std::move(reply));
    });
  }
}

void redis_adapter::on_callback(const rp::callback_message& m) {
  socketio::payload args;
  args.args = m.args;
  finish_call(m.id, std::move(args));
}

}  // namespace owcore::realtime::adapter
