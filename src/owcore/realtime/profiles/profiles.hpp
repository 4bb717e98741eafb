#pragma once
// Handler profiles: the Socket.IO event handlers installed on a generic server, chosen at
// start-up (`--profile` of `owcore conformance-server`, OWCORE_SOCKETIO_PROFILE for
// `owcore serve`).
//
// - conformance: the reference behaviour of socketio/socket.io-protocol's test suite: on connect
//   emit `auth` with the CONNECT payload; `message` -> `message-back` with the same arguments;
//   `message-with-ack` acknowledges with its arguments; a `/custom` namespace that emits `auth`.
// - bench: `join` {room} joins the room and acks {"ok": true}; `broadcast` {room, payload,
//   except?} emits `deliver` with `payload` unchanged to every socket of the room on every
//   instance, skipping the members of the `except` rooms (acks {"ok": true} when asked); `echo`
//   acks its arguments unchanged.
// - testing: conformance + bench + what the project's protocol tests drive: `leave` {room},
//   `rooms` (acks the socket's rooms), `broadcast-except-me` {room, payload, except?}, `ask`
//   {event, args, timeout_ms} (the server calls the client with an acknowledgement and acks the
//   caller with the client's answer, or {"error": ...}), `disconnect-me`, `stats` (acks
//   {clients, sockets}: attached Engine.IO sessions and sockets of "/", for leak checks).
//   Test-only operations on ANOTHER socket, by sid, through the server's adapter (so a sid on
//   another instance exercises the multi-instance adapter): `join-sid` {sid, room}, `leave-sid`
//   {sid, room}, `disconnect-sid` {sid}, `close-room` {room} (on every instance), each acking
//   {"ok": true}; and `call-sid` {sid, event, args, timeout_ms}, a server-to-client call to
//   that sid, acking the caller with the client's answer or {"error": ...}.
// - openwebui: Open WebUI's handlers (realtime/openwebui, docs/openwebui-events.md). Without a
//   complete set of services (the conformance server has none) it accepts connections on "/" and
//   handles no event.

#include "owcore/realtime/openwebui/handlers.hpp"
#include "owcore/realtime/socketio/server.hpp"

#include <memory>

#include <optional>
#include <string_view>

namespace owcore::realtime::profiles {

/// The profiles.
enum class profile { conformance, bench, testing, openwebui };

/// Parses a profile name ("conformance", "bench", "testing", "openwebui").
std::optional<profile> parse_profile(std::string_view name) noexcept;

/// The name of `p`.
std::string_view to_string(profile p) noexcept;

/// Installs the handlers of `p` on `srv`. Set-up only (before clients connect). `openwebui`
/// and `openwebui_options` are used by the openwebui profile only.
void install(profile p, socketio::server& srv, std::shared_ptr<const openwebui::services> openwebui = nullptr,
             const openwebui::handler_options& openwebui_options = {});

}  // namespace owcore::realtime::profiles
