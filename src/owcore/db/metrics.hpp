#pragma once
// The database layer's counters (docs/metrics.md): statements, failures and latency per dialect,
// counted by the wrapper that db::open() puts around every driver (`instrument`).

#include "owcore/base/metrics.hpp"
#include "owcore/db/database.hpp"

#include <array>
#include <memory>
#include <string_view>

namespace owcore::db {

/// Dialect labels, in the order of db::dialect.
inline constexpr std::array<std::string_view, 2> dialect_labels{"sqlite", "postgresql"};

/// Statements of one dialect. Thread-safe, lock-free.
struct statement_metrics {
  base::metrics::counter queries;    ///< statements and scripts run
  base::metrics::counter errors;     ///< of which ended in an error (timeout, lost, failed, ...)
  base::metrics::histogram latency;  ///< from the call to the result, queueing included
};

struct metrics_registry {
  std::array<statement_metrics, dialect_labels.size()> by_dialect;
};

/// The process-wide registry (a function-local static; thread-safe).
metrics_registry& metrics();

/// Wraps `inner` so every statement is counted in metrics(). The wrapper forwards everything
/// else unchanged; its cost per statement is one extra coroutine frame and three atomic adds.
std::shared_ptr<database> instrument(std::shared_ptr<database> inner);

}  // namespace owcore::db
