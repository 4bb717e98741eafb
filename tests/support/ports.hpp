// Loopback TCP ports for test servers.
#pragma once

#include <chrono>

namespace owcore::test {

/// A TCP port on 127.0.0.1 that was free a moment ago: binds port 0, reads the port the kernel
/// chose, closes the socket.
///
/// The port is *not* reserved. Another process (a parallel test, or an outgoing connection that
/// picks the same ephemeral port) may take it before our server binds it, so whoever starts a
/// server on it must detect a failed start and retry with a new port (redis_server does).
/// Within this process a port is never handed out twice, so one topology's nodes can't collide
/// with each other. Thread-safe. Throws std::runtime_error if no socket can be bound.
int free_port();

/// True if a TCP connection to 127.0.0.1:`port` is accepted within `timeout`. A stopped
/// (SIGSTOP) server still accepts (the kernel completes the handshake); a dead one refuses.
bool port_accepts_connections(int port,
                              std::chrono::milliseconds timeout = std::chrono::milliseconds(500));

}  // namespace owcore::test
