#pragma once
// The operational endpoints: GET /health (liveness, never touches Redis) and GET /ready
// (readiness: the App Redis answers, or none is configured).

#include "owcore/coord/readiness.hpp"
#include "owcore/http/router.hpp"

#include <functional>
#include <memory>
#include <string>

namespace owcore::http {

/// Registers GET /health → 200 {"status":true} and GET /ready → 200 {"status":true} or
/// 503 {"status":false,"reason":"..."} using `ready`'s check.
void add_health_routes(router& r, std::shared_ptr<coord::readiness> ready);

/// Renders the metrics exposition (the Prometheus text format, built by `app`). Called once per
/// scrape on the connection's strand; must not block for long and must be thread-safe.
using metrics_renderer = std::function<std::string()>;

/// Registers GET /metrics → 200 with `render()`'s text as
/// `text/plain; version=0.0.4; charset=utf-8` (the Prometheus text format's content type).
void add_metrics_route(router& r, metrics_renderer render);

}  // namespace owcore::http
