#pragma once
// A Socket.IO client: the layer's view of one Engine.IO session. It decodes the session's
// messages, opens and closes the namespace sockets, routes events and acknowledgements, and
// closes the whole session (and nothing else) on malformed input. Internal to socketio; created
// by server::attach and owned by the Engine.IO session as its listener.

#include "owcore/net/executor.hpp"
#include "owcore/realtime/engineio/session.hpp"
#include "owcore/realtime/socketio/packet.hpp"
#include "owcore/realtime/socketio/socket.hpp"

#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace owcore::realtime::socketio {

class server;
class namespace_handlers;

/// One Engine.IO session seen by Socket.IO. Every member runs on the session's strand.
class client final : public engineio::session_listener, public std::enable_shared_from_this<client> {
 public:
  /// A client for session `s` of `srv` (use server::attach).
  client(std::shared_ptr<server> srv, const std::shared_ptr<engineio::session>& s);
  ~client() override;

  /// Arms the connect timeout (the session closes if no namespace is joined in time).
  void start();

  /// Decodes a message; a complete packet is routed, a malformed one closes the session.
  void on_message(std::string data, bool binary) override;
  /// Disconnects every socket of the client (reason mapped from the Engine.IO close).
  void on_close(engineio::close_reason reason) override;

  /// A socket left its namespace (server- or client-side disconnect): forget it.
  void forget(const std::string& nsp);

 private:
  void handle(packet p);
  void connect(packet p);
  void finish_connect(const std::shared_ptr<socket>& s, const namespace_handlers& ns);
  void refuse(const std::string& nsp, boost::json::value data);
  void dispatch_event(const std::shared_ptr<socket>& s, packet p);
  void fail(const boost::system::error_code& ec);
  void send(const packet& p);
  static net::awaitable<void> authorize(std::shared_ptr<client> self, std::shared_ptr<socket> s,
                                        const namespace_handlers* ns);

  std::shared_ptr<server> server_;
  std::weak_ptr<engineio::session> session_;
  net::executor strand_;
  std::shared_ptr<const engineio::request_info> request_;
  decoder decoder_;
  std::unordered_map<std::string, std::shared_ptr<socket>> sockets_;  // namespace -> socket
  std::unordered_set<std::string> connecting_;  // namespaces whose authorization is running
  /// Closes a client that connects no namespace in time; released once one is connected.
  std::unique_ptr<boost::asio::steady_timer> connect_timer_;
  bool closed_ = false;
};

}  // namespace owcore::realtime::socketio
