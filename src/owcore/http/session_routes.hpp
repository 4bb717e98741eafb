#pragma once
// owcore's session endpoints (issue 4). Open WebUI has no such API: these let owcore's own code
// and operators read and change the `owui-session` session, in either mode, with one contract.
//
//   GET    /api/owcore/session         200 the session data (a JSON object, no __metadata__)
//   PATCH  /api/owcore/session         RFC 7386 merge of the JSON object body (null deletes a
//                                      key); 200 the data after the merge
//   DELETE /api/owcore/session         empties the session; 200 {}
//   POST   /api/owcore/session/rotate  same data under a new id (Redis mode; what a login must
//                                      call against session fixation); 200 the data
//
// Every response carries `Cache-Control: no-store` and, when the cookie changes, Set-Cookie
// (session_middleware.hpp). Errors are JSON `{"detail": "..."}`: 400 a body that is not a JSON
// object or writes a reserved key; 409 the session was deleted concurrently (the cookie is
// cleared; nothing was written); 413 the session would be too large; 503 the store failed or
// kept changing.

#include "owcore/http/router.hpp"
#include "owcore/http/session_middleware.hpp"

#include <memory>

namespace owcore::http {

/// Registers the four routes above on `r`, served by `sessions` (not null). Call during set-up
/// (router::add is not thread-safe).
void add_session_routes(router& r, std::shared_ptr<session_middleware> sessions);

}  // namespace owcore::http
