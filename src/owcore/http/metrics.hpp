#pragma once
// The HTTP server's counters (docs/metrics.md): requests by route and status code. The route
// label is the registered path (a prefix route ends in `*`), "unmatched" for 404s of unknown
// paths and "unparsed" for requests rejected before routing (400, 408, 413, 431), so the label
// set is bounded by the routes registered at start-up.

#include "owcore/base/metrics.hpp"

#include <array>
#include <cstddef>
#include <string_view>

namespace owcore::http {

/// The status codes counted under their own label; any other code counts as "other".
inline constexpr std::array<unsigned, 24> labelled_statuses{101, 200, 201, 204, 206, 301, 302, 304,
                                                            307, 308, 400, 401, 403, 404, 405, 408,
                                                            409, 413, 422, 429, 431, 500, 503, 504};

/// The index of `status` in labelled_statuses, or labelled_statuses.size() for "other".
constexpr std::size_t status_index(unsigned status) noexcept {
  for (std::size_t i = 0; i < labelled_statuses.size(); ++i)
    if (labelled_statuses[i] == status) return i;
  return labelled_statuses.size();
}

/// Requests of one route by status. Thread-safe; count() is a short scan and one atomic add.
struct route_metrics {
  std::array<base::metrics::counter, labelled_statuses.size() + 1> by_status;
  void count(unsigned status) noexcept { by_status[status_index(status)].inc(); }
};

/// Most routes labelled separately; more share "other" (owcore registers about 30).
inline constexpr std::size_t max_labelled_routes = 96;

/// Every route's counters in this process.
struct metrics_registry {
  base::metrics::bounded_slots<route_metrics, max_labelled_routes> routes;
};

/// The process-wide registry (a function-local static; thread-safe).
metrics_registry& metrics();

}  // namespace owcore::http
