#pragma once
// The `/metrics` exposition (docs/metrics.md): every layer's counters (base/metrics.hpp structs in
// http, realtime, redis, db and coord), read at scrape time and rendered in the Prometheus text
// format with prometheus-cpp's TextSerializer. The only place that includes prometheus-cpp.

#include <string>

namespace owcore::app {

/// Renders every metric family of this process in the Prometheus text format (version 0.0.4).
/// Thread-safe; reads relaxed atomics only, takes no lock that an event path takes. Cost: a few
/// hundred series, roughly tens of microseconds.
std::string render_metrics();

}  // namespace owcore::app
