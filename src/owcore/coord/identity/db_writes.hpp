#pragma once
// The four writes the socket tier makes to Open WebUI's database (docs/identity.md, "Writes"),
// gated by OWCORE_DB_WRITES:
// - all (default): every write below;
// - presence: only user.last_active_at (read markers, timer cancellation and note saves are
//   skipped: unread badges stay, chat.read timers fire, note edits made only through owcore are
//   lost when the last editor leaves);
// - none: nothing (additionally, users whose tabs sit on owcore look inactive).
// user.last_active_at is throttled fleet-wide: one SET NX PX side key per user and interval.

#include "owcore/coord/backend.hpp"
#include "owcore/coord/identity/permissions.hpp"
#include "owcore/db/queries.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace owcore::coord::identity {

enum class write_mode { all, presence, none };
/// "all", "presence", "none"; nullopt for anything else.
std::optional<write_mode> parse_write_mode(std::string_view text) noexcept;
std::string_view to_string(write_mode m) noexcept;

/// Where the activity throttle lives: memory (one process) or the App Redis (a fleet). Thread-safe.
class activity_gate {
 public:
  virtual ~activity_gate() = default;
  /// True when the caller should write now (and no one else in the fleet will for `interval`);
  /// nullopt when the store cannot answer (the write is then made: a missed throttle costs one
  /// idempotent UPDATE, a missed write makes a user look inactive).
  virtual net::awaitable<std::optional<bool>> acquire(const std::string& user_id,
                                                      std::chrono::milliseconds interval) = 0;
};
std::shared_ptr<activity_gate> make_memory_activity_gate();
std::shared_ptr<activity_gate> make_redis_activity_gate(redis_backend backend);

struct write_options {
  write_mode mode = write_mode::all;
  /// DATABASE_USER_ACTIVE_STATUS_UPDATE_INTERVAL; 0 = every heartbeat writes (Python's default).
  std::chrono::milliseconds active_interval{0};
};

/// The reply of a chat read: what Python emits as `chat:list` data.
struct chat_read_reply {
  std::int64_t last_read_at = 0;
  std::optional<std::map<std::string, std::int64_t>> folder_unread_counts;  ///< only when it was unread
};

/// Thread-safe; share one per process.
class write_service {
 public:
  write_service(std::shared_ptr<db::database> db, std::shared_ptr<permission_service> perms,
                std::shared_ptr<activity_gate> gate, write_options opts);

  /// user.last_active_at = now (s), at most once per interval fleet-wide. Returns whether written.
  net::awaitable<db::result<bool>> user_active(const std::string& user_id);

  /// channel_member.last_read_at = now (ns). Returns whether a membership row was updated.
  net::awaitable<db::result<bool>> channel_read(const std::string& channel_id, const std::string& user_id);

  /// chat.last_read_at = now (s) for the user's own chat, and the folder unread counts when it
  /// was unread. nullopt: a foreign or missing chat (nothing written, no reply), or writes
  /// disabled.
  net::awaitable<db::result<std::optional<chat_read_reply>>> chat_read(const std::string& chat_id,
                                                                      const std::string& user_id);

  /// Cancels the user's pending timer chats of `chat_id` that list "chat.read" in cancel_on
  /// (Python does this after emitting the chat:list reply). Returns how many.
  net::awaitable<db::result<int>> cancel_read_timers(const std::string& chat_id, const std::string& user_id);

  /// The debounced note save: re-checks `write` on the note for `u` (never cached), then
  /// shallow-merges `data_json` into note.data. `missing` also when the permission is gone.
  net::awaitable<db::result<db::note_save>> save_note(const db::user_row& u, const std::string& note_id,
                                                      const std::string& data_json);

  write_mode mode() const noexcept { return opts_.mode; }

 private:
  std::shared_ptr<db::database> db_;
  std::shared_ptr<permission_service> perms_;
  std::shared_ptr<activity_gate> gate_;
  write_options opts_;
};

/// Seconds and nanoseconds since the epoch, the two units Open WebUI's tables mix.
std::int64_t now_seconds() noexcept;
std::int64_t now_nanoseconds() noexcept;

}  // namespace owcore::coord::identity
