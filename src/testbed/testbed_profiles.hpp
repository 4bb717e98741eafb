#pragma once
// owcore-testbed's extra Socket.IO handler profiles: what the project's protocol tests and
// benchmarks drive. Not linked into the production `owcore` binary (docs/architecture.md).
//
// - bench: `join` {room} joins the room and acks {"ok": true}; `broadcast` {room, payload,
//   except?} emits `deliver` with `payload` unchanged to every socket of the room on every
//   instance, skipping the members of the `except` rooms (acks {"ok": true} when asked); `echo`
//   acks its arguments unchanged.
// - testing: conformance + bench + what the project's protocol tests drive: `leave` {room},
//   `rooms` (acks the socket's rooms), `broadcast-except-me` {room, payload, except?}, `ask`
//   {event, args, timeout_ms} (the server calls the client with an acknowledgement and acks the
//   caller with the client's answer, or {"error": ...}), `disconnect-me`, `stats` (acks
//   {clients, sockets}: attached Engine.IO sessions and sockets of "/", for leak checks),
//   `disconnect-reason` {sid} (acks the reason string a recent socket of "/" left with, such as
//   "ping timeout", or null; the last 4,096 are kept).
//   Test-only operations on ANOTHER socket, by sid, through the server's adapter (so a sid on
//   another instance exercises the multi-instance adapter): `join-sid` {sid, room}, `leave-sid`
//   {sid, room}, `disconnect-sid` {sid}, `close-room` {room} (on every instance), each acking
//   {"ok": true}; and `call-sid` {sid, event, args, timeout_ms}, a server-to-client call to
//   that sid, acking the caller with the client's answer or {"error": ...}.

#include "owcore/realtime/profiles/profiles.hpp"

namespace owcore::testbed {

/// The production profiles plus `bench` and `testing`.
const realtime::profiles::registry& profiles();

}  // namespace owcore::testbed
