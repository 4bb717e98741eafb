#pragma once
// `owcore conformance-server`: the reference servers the official Engine.IO and Socket.IO
// conformance suites (test-suite/ of socketio/engine.io-protocol and socketio/socket.io-protocol)
// expect, on one port:
// - `/engine.io/`: plain Engine.IO, every `message` echoed back (engine.io-protocol README);
// - `/socket.io/`: Socket.IO with a handler profile, by default `conformance`
//   (socket.io-protocol README: `auth` echo, `message` -> `message-back`, `message-with-ack`,
//   the `/custom` namespace).
// Both use ping interval 300 ms, ping timeout 200 ms, max payload 1e6, connect timeout 1000 ms
// and CORS origin "*".
//
// Running the official suites (outside the repository; never vendored or committed):
//   owcore conformance-server --port 3000 &
//   cd /tmp/x && git clone https://github.com/socketio/engine.io-protocol && cd engine.io-protocol/test-suite
//   npm ci && npm install --no-save ws@8.16.0 && npx mocha --retries 1 test-suite.js
// and the same in socket.io-protocol/test-suite.

#include "owcore/realtime/profiles/profiles.hpp"

namespace owcore::app {

/// Runs the conformance server until SIGINT or SIGTERM. `argv` holds the options after the
/// subcommand name: `--port N` (default 3000), `--host H` (default 127.0.0.1), `--profile P`
/// (a Socket.IO profile name from `profiles`, default `conformance`; the project's own protocol
/// tests use owcore-testbed's `testing`), `--cors LIST` (allowed Origin values separated by ';', default "*"), `--threads N`
/// (event-loop threads, default 1). Returns 0 after a clean stop, 2 for bad usage or a port that
/// cannot be bound.
int run_conformance_server(int argc, char** argv, const realtime::profiles::registry& profiles);

}  // namespace owcore::app
