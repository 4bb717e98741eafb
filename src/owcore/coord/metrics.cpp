#include "owcore/coord/metrics.hpp"

namespace owcore::coord {

metrics_registry& metrics() {
  static metrics_registry registry;
  return registry;
}

}  // namespace owcore::coord
