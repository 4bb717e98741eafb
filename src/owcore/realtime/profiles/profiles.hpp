#pragma once
// Handler profiles: the Socket.IO event handlers installed on a generic server, chosen at
// start-up (`--profile` of `owcore conformance-server`, OWCORE_SOCKETIO_PROFILE for
// `owcore serve`).
//
// - conformance: the reference behaviour of socketio/socket.io-protocol's test suite: on connect
//   emit `auth` with the CONNECT payload; `message` -> `message-back` with the same arguments;
//   `message-with-ack` acknowledges with its arguments; a `/custom` namespace that emits `auth`.
// - bench: `join` {room} joins the room and acks {"ok": true}; `broadcast` {room, payload} emits
//   `deliver` with `payload` unchanged to every socket of the room on every instance (acks
//   {"ok": true} when asked); `echo` acks its arguments unchanged.
// - testing: conformance + bench + what the project's protocol tests drive: `leave` {room},
//   `rooms` (acks the socket's rooms), `broadcast-except-me` {room, payload}, `ask` {event, args,
//   timeout_ms} (the server calls the client with an acknowledgement and acks the caller with
//   the client's answer, or {"error": ...}), `disconnect-me`, `stats` (acks {clients, sockets}:
//   attached Engine.IO sessions and sockets of "/", for leak checks).
// - openwebui: Open WebUI's handlers (a later issue); for now it accepts connections on "/" and
//   handles no event.

#include "owcore/realtime/socketio/server.hpp"

#include <optional>
#include <string_view>

namespace owcore::realtime::profiles {

/// The profiles.
enum class profile { conformance, bench, testing, openwebui };

/// Parses a profile name ("conformance", "bench", "testing", "openwebui").
std::optional<profile> parse_profile(std::string_view name) noexcept;

/// The name of `p`.
std::string_view to_string(profile p) noexcept;

/// Installs the handlers of `p` on `srv`. Set-up only (before clients connect).
void install(profile p, socketio::server& srv);

}  // namespace owcore::realtime::profiles
