#pragma once
// Socket.IO handler profiles: the event handlers installed on a generic server, chosen by name at
// start-up (`--profile` of `owcore conformance-server`, OWCORE_SOCKETIO_PROFILE for
// `owcore serve`). The production binary knows two:
//
// - openwebui (the default of `owcore serve`): Open WebUI's handlers (realtime/openwebui,
//   docs/openwebui-events.md). Without a complete set of services (the conformance server has
//   none) it accepts connections on "/" and handles no event.
// - conformance (the default of `owcore conformance-server`): the reference behaviour of
//   socketio/socket.io-protocol's test suite: on connect emit `auth` with the CONNECT payload;
//   `message` -> `message-back` with the same arguments; `message-with-ack` acknowledges with its
//   arguments; a `/custom` namespace that emits `auth`.
//
// The project's own test and benchmark profiles (`testing`, `bench`) are not in the production
// library: `owcore-testbed` (src/testbed) is the same program with them added to its registry.

#include "owcore/realtime/openwebui/handlers.hpp"
#include "owcore/realtime/socketio/server.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace owcore::realtime::profiles {

/// What an installer may use besides the server: the openwebui profile's services and limits.
struct install_context {
  std::shared_ptr<const openwebui::services> openwebui;  ///< null when there are none
  openwebui::handler_options openwebui_options;
};

/// Installs a profile's handlers on a server. Called during set-up, before clients connect.
using installer = std::function<void(socketio::server&, const install_context&)>;

/// Profiles by name. Built at start-up and read-only afterwards (concurrent reads are safe).
class registry {
 public:
  /// Adds (or replaces) the profile `name`.
  void add(std::string name, installer install);
  /// The installer of `name`, or null when no such profile is registered.
  const installer* find(std::string_view name) const;
  /// The registered names, comma-separated in name order (for error messages).
  std::string names() const;

 private:
  std::map<std::string, installer, std::less<>> profiles_;
};

/// The production profiles: openwebui and conformance.
const registry& standard();

/// The conformance profile's handlers (see the top of this file); exported so test profiles can
/// build on them.
void install_conformance(socketio::server& srv);

}  // namespace owcore::realtime::profiles
