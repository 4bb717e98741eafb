#pragma once
// The operational endpoints: GET /health (liveness, never touches Redis) and GET /ready
// (readiness: the App Redis answers, or none is configured).

#include "owcore/coord/readiness.hpp"
#include "owcore/http/router.hpp"

#include <memory>

namespace owcore::http {

/// Registers GET /health → 200 {"status":true} and GET /ready → 200 {"status":true} or
/// 503 {"status":false,"reason":"..."} using `ready`'s check.
void add_health_routes(router& r, std::shared_ptr<coord::readiness> ready);

}  // namespace owcore::http
