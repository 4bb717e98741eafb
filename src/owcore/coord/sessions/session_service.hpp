#pragma once
// HTTP sessions (docs/wire.md, "Sessions"), independent of HTTP: the caller hands in the session
// cookie's value (or nothing) and gets back the session data plus what to do with the cookie.
// Cookie syntax and attributes are the http layer's business (http/session_middleware.hpp).
//
// Two modes, as in Open WebUI, and the whole fleet must use the same one:
//  - server_side (ENABLE_STAR_SESSIONS_MIDDLEWARE=true): the cookie holds a session id and the
//    data lives in a session_store (`P:session:<id>` in Redis, starsessions' JSON).
//  - signed_cookie (otherwise): the cookie holds the data, signed with WEBUI_SECRET_KEY
//    (Starlette's SessionMiddleware format, signed_cookie.hpp).
//
// Fixes over Python (docs/wire.md, "Trust and isolation"; issue 4):
//  - An id the server did not issue is never adopted. A cookie whose value is not 32 lowercase
//    hex is never sent to the store at all; one with no stored session is dropped. When data is
//    then written, a fresh CSPRNG id (128 bits) is issued instead.
//  - A delete is not undone by a concurrent late write: writes are compare-and-set against the
//    value read (session_store.hpp), so a write racing a delete fails with error::deleted.
//  - A tampered, expired or garbage signed cookie is ignored (an empty session).
//
// Like starsessions, a session exists only while it holds data: an update that leaves it empty
// deletes it, and an empty session is never stored.

#include "owcore/coord/sessions/session_store.hpp"
#include "owcore/net/executor.hpp"

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace owcore::coord::sessions {

/// Where session data lives.
enum class session_mode {
  server_side,    ///< a session_store keyed by id (starsessions format)
  signed_cookie,  ///< in the cookie itself (Starlette format)
};

/// What the response must do with the session cookie.
enum class cookie_action {
  keep,   ///< send nothing
  set,    ///< send the cookie with `value`
  clear,  ///< send an expired cookie (the client presented one that is now void)
};

/// A cookie action and, for `set`, the cookie's new value (an id or a signed string).
struct cookie_change {
  cookie_action action = cookie_action::keep;
  std::string value;
};

/// The outcome of a session operation.
struct session_state {
  boost::json::object data;  ///< the application data after the operation (never __metadata__)
  cookie_change cookie;
};

/// Changes session data in place. May be called more than once per update (after a concurrent
/// change it runs again on the fresh data), so it must depend only on its argument. It must not
/// suspend or throw.
using session_mutator = std::function<void(boost::json::object&)>;

/// The session service. Thread-safe: every member may be called concurrently from any executor.
/// `cookie` is the value of the session cookie as the client sent it (nullopt when absent); it
/// is treated as untrusted input of any length and content.
///
/// Errors: transport errors of the store; error::deleted (the session was deleted while this
/// operation ran; the response should clear the cookie); error::contention (it kept changing);
/// error::too_large; error::reserved_key. On error nothing was written, except that a failed
/// conditional write may have an unknown outcome (redis::error::unknown_outcome).
class session_service {
 public:
  virtual ~session_service() = default;

  virtual session_mode mode() const noexcept = 0;

  /// Loads the session. Server side: refreshes its TTL, keeps the cookie (clears an unknown
  /// one). Signed cookie: re-signs a non-empty session (a sliding 14 days, as Starlette does on
  /// every response) and clears an invalid or empty one.
  virtual net::awaitable<boost::system::result<session_state>> get(
      std::optional<std::string> cookie) = 0;

  /// Loads the session (empty if none or unknown), applies `mutate`, and stores the result.
  /// A session without a usable cookie gets a fresh id (server side) when it gets data; a
  /// session left empty is deleted and its cookie cleared. A result containing `__metadata__`
  /// fails with error::reserved_key.
  virtual net::awaitable<boost::system::result<session_state>> update(
      std::optional<std::string> cookie, session_mutator mutate) = 0;

  /// Deletes the session (server side: DEL) and clears a presented cookie.
  virtual net::awaitable<boost::system::result<session_state>> clear(
      std::optional<std::string> cookie) = 0;

  /// Server side: moves the data to a fresh id and deletes the old key (what a login must call
  /// against session fixation). If the old session is deleted meanwhile, the new one is deleted
  /// too and error::deleted is returned. Signed cookie: re-signs the data. An empty or unknown
  /// session is not stored (its cookie is cleared).
  virtual net::awaitable<boost::system::result<session_state>> rotate(
      std::optional<std::string> cookie) = 0;

  /// update() with an RFC 7386 merge of `patch` (null deletes a key). A top-level key that is
  /// `__metadata__` or starts with one of `reserved_prefixes` fails with error::reserved_key
  /// before anything is read.
  net::awaitable<boost::system::result<session_state>> patch(
      std::optional<std::string> cookie, boost::json::object patch,
      std::vector<std::string> reserved_prefixes = {});
};

/// Options of the server-side mode.
struct server_session_options {
  /// Largest stored JSON owcore writes (data plus metadata), in bytes; larger updates fail
  /// with error::too_large. Open WebUI's sessions (Authlib OAuth state) take a few hundred.
  std::size_t max_value_bytes = 64 * 1024;
  /// Compare-and-set attempts per operation before error::contention.
  int max_attempts = 8;
  /// Float Unix seconds for `created`/`last_access`; null = the system clock.
  std::function<double()> clock;
};

/// The server-side service over `store` (memory or Redis).
std::shared_ptr<session_service> make_server_session_service(std::shared_ptr<session_store> store,
                                                             server_session_options options = {});

/// Options of the signed-cookie mode.
struct signed_cookie_options {
  std::string secret_key;  ///< WEBUI_SECRET_KEY; must not be empty
  /// Starlette's max_age: older signatures are rejected; also the cookie's Max-Age.
  std::chrono::seconds max_age{14 * 24 * 3600};
  /// Largest cookie value owcore writes; browsers drop cookies over 4096 bytes (name included),
  /// so larger updates fail with error::too_large. Presented values over 8 KiB are ignored unread.
  std::size_t max_cookie_bytes = 4000;
  /// Integer Unix seconds for signing and expiry; null = the system clock.
  std::function<std::int64_t()> clock;
};

/// The signed-cookie service. Throws std::invalid_argument for an empty secret key.
std::shared_ptr<session_service> make_signed_cookie_session_service(signed_cookie_options options);

}  // namespace owcore::coord::sessions
