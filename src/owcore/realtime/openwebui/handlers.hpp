#pragma once
// Open WebUI's Socket.IO handlers (the `openwebui` profile; docs/openwebui-events.md): connect,
// user-join, join-channels, heartbeat, usage, join-note, events:channel, events:chat, the five
// ydoc:* events and disconnect, with Python's event names, payloads, rooms and Redis formats.
//
// Authorisation always comes from the socket's own authenticated user (kept in this module, per
// socket, on its strand), reloaded through identity_service (a row at most its cache TTL old) for
// every permission decision; a P:session_pool entry is written for Python's readers but never
// read back for a decision. Unauthenticated sockets stay connected and get nothing.
//
// Every event goes through the per-socket limits of `limits` (payloads.hpp): a token bucket on
// the event rate (a refused event is acknowledged {"ok": false} when the client asked; a client
// refused max_refusals times within a second is disconnected), a bound on events handled at once, on
// rooms and documents joined, and on every size. A handler's work runs as a coroutine on the
// socket's strand; nothing blocks.
//
// The services are chosen by app/ (memory backends for one instance, Redis ones for a fleet).

#include "owcore/coord/identity/db_writes.hpp"
#include "owcore/coord/identity/identity_service.hpp"
#include "owcore/coord/identity/permissions.hpp"
#include "owcore/coord/shared/shared_dict.hpp"
#include "owcore/coord/tasks/task_service.hpp"
#include "owcore/coord/ydoc/document_store.hpp"
#include "owcore/realtime/openwebui/instance_lease.hpp"
#include "owcore/realtime/openwebui/payloads.hpp"
#include "owcore/realtime/socketio/server.hpp"

#include <chrono>
#include <memory>

namespace spdlog {
class logger;
}

namespace owcore::realtime::openwebui {

/// What the handlers use. Every member but `log` and `lease` is required (install refuses a
/// partial set).
struct services {
  std::shared_ptr<coord::identity::identity_service> identity;     ///< tokens and user rows
  std::shared_ptr<coord::identity::permission_service> permissions; ///< channels, notes
  std::shared_ptr<coord::identity::write_service> writes;          ///< the four SQL writes
  std::shared_ptr<coord::shared::shared_dict> session_pool;        ///< P:session_pool
  std::shared_ptr<coord::shared::shared_dict> usage_pool;          ///< P:usage_pool
  /// The registry where note saves are tasks on item `note:<id>` (Python uses the WS Redis).
  std::shared_ptr<coord::tasks::task_service> note_tasks;
  std::shared_ptr<coord::ydoc::document_store> documents;          ///< P:ydoc:documents:*
  std::shared_ptr<spdlog::logger> log;                             ///< may be null
  /// Optional (a fleet on Redis): records the sids this instance holds, so that a killed
  /// instance's leftovers are cleaned by the others (instance_lease.hpp).
  std::shared_ptr<instance_lease> lease;
};

/// Tuning of the handlers.
struct handler_options {
  limits lim;
  /// Delay of the debounced note save (Python: 0.5 s).
  std::chrono::milliseconds save_delay{500};
};

/// True when every required service is set.
bool complete(const services& s) noexcept;

/// Installs the handlers on namespace "/" of `srv`. Set-up only (before clients connect).
/// Precondition: complete(*svc).
void install(socketio::server& srv, std::shared_ptr<const services> svc, handler_options opts = {});

}  // namespace owcore::realtime::openwebui
