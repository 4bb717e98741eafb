#pragma once
// `owcore doctor [--json]`: a diagnosis of the App and WS Redis an operator can paste into a bug
// report (topology, addresses, roles, slot coverage, version, latency, key prefix, problems).

namespace owcore::app {

/// Runs the doctor with the process environment. `argc/argv` are the arguments after "doctor".
/// Prints the report to stdout. Returns 0 when healthy, 1 when degraded, 2 when a configured
/// Redis is unreachable or misconfigured.
int run_doctor(int argc, char** argv);

}  // namespace owcore::app
