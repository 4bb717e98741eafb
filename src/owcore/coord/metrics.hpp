#pragma once
// The coord layer's counters (docs/metrics.md): local tasks and the Yjs document store. Every
// update is one relaxed atomic add (base/metrics.hpp); no locks, no allocation.

#include "owcore/base/metrics.hpp"

namespace owcore::coord {

/// Tasks run by this process (every task service of the process together).
struct task_metrics {
  base::metrics::gauge running;     ///< started and not yet finished
  base::metrics::counter started;   ///< task bodies started
  base::metrics::counter finished;  ///< task bodies ended (completed, failed or cancelled)
  base::metrics::counter
      stopped;  ///< local tasks cancelled by a stop (local or from another instance)
};

/// The Yjs document store (memory and Redis backends alike).
struct ydoc_metrics {
  base::metrics::counter appends;           ///< updates stored
  base::metrics::counter appends_rejected;  ///< appends refused (invalid update, too large, limits)
  base::metrics::counter compactions;       ///< compactions that replaced stored updates
  base::metrics::counter
      compacted_rejected;  ///< stored updates found invalid and set aside by a compaction
};

struct metrics_registry {
  task_metrics tasks;
  ydoc_metrics ydoc;
};

/// The process-wide registry (a function-local static; thread-safe).
metrics_registry& metrics();

}  // namespace owcore::coord
