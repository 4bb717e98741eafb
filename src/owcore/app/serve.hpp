#pragma once

#include "owcore/realtime/profiles/profiles.hpp"
// `owcore serve` (docs/architecture.md, app): settings, start-up checks, the services of
// services.hpp, the HTTP and realtime routes, then the run loop with its signals and shutdown
// order.

namespace owcore::app {

/// Runs the server until SIGINT/SIGTERM and a drained shutdown. Reads the process environment;
/// logs to stderr. Returns exit_ok, or exit_config when the configuration, a configured Redis,
/// the database or the listening port is unusable. OWCORE_SOCKETIO_PROFILE names one of `profiles`.
int serve(const realtime::profiles::registry& profiles);

}  // namespace owcore::app
