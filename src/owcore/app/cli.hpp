#pragma once
// The `owcore` command line: `serve` (serve.hpp) and the subcommands in cli.cpp's usage.

#include "owcore/realtime/profiles/profiles.hpp"

namespace owcore::app {

/// Exit statuses shared by every subcommand.
enum exit_status : int {
  exit_ok = 0,        ///< success (and a clean shutdown after SIGTERM/SIGINT)
  exit_failure = 1,   ///< a runtime failure
  exit_config = 2,    ///< bad usage, bad configuration, or a configured Redis that is unreachable
};

/// Runs the command line. Reads the process environment; writes command output to stdout and
/// logs to stderr. Returns the process exit status. `profiles` are the Socket.IO handler
/// profiles `serve` and `conformance-server` may name (owcore-testbed passes a larger set).
int run_cli(int argc, char** argv,
            const realtime::profiles::registry& profiles = realtime::profiles::standard());

}  // namespace owcore::app
