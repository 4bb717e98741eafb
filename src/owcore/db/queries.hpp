#pragma once
// Every statement owcore runs against Open WebUI's tables, as typed functions (docs/database.md
// lists each with its SQL and units). Reads select only the columns owcore needs; the four writes
// touch only columns Python also writes, in Python's units (user/chat: seconds; note/channel:
// nanoseconds). Read-modify-write of JSON columns is a compare-and-set on the column's text,
// retried a few times, so a concurrent Python write is never silently overwritten.

#include "owcore/db/database.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace owcore::db {

/// The columns of "user" that go into a P:session_pool entry, in Pydantic declaration order
/// (never profile_image_url and the other excluded columns). JSON columns as their text.
struct user_row {
  std::string id, email;
  std::optional<std::string> username;
  std::string role, name;
  std::optional<std::string> timezone, presence_state, status_emoji, status_message;
  std::optional<std::int64_t> status_expires_at;
  std::optional<std::string> info, settings, oauth, scim;  ///< JSON text; nullopt = SQL NULL
  std::int64_t last_active_at = 0, updated_at = 0, created_at = 0;  ///< seconds
};

/// What a user load found. `incomplete` = the row exists but a column Open WebUI's model requires
/// (email, name, role, last_active_at, updated_at, created_at) is NULL: not authenticated.
struct user_lookup {
  enum class status { found, missing, incomplete } state = status::missing;
  user_row user;
};

/// Loads one user by primary key.
net::awaitable<result<user_lookup>> load_user(database& db, const std::string& id);

/// The `permissions` JSON text (nullopt = NULL) of every group the user belongs to.
net::awaitable<result<std::vector<std::optional<std::string>>>> group_permissions(database& db,
                                                                                 const std::string& uid);

/// Channels whose room a user-join enters: active membership of group/dm channels, plus standard
/// channels the user owns or holds a `read` grant on (user:*, user:<uid>, or a group of theirs);
/// archived and deleted channels excluded. Sorted, unique.
net::awaitable<result<std::vector<std::string>>> channel_ids(database& db, const std::string& uid);

/// A note's owner and whether the user holds a grant with exactly `permission` on it
/// (`anyone` grants ignored). nullopt when the note does not exist.
struct note_access_row {
  std::string owner;
  bool granted = false;
};
net::awaitable<result<std::optional<note_access_row>>> note_access(database& db, const std::string& note_id,
                                                                   const std::string& uid,
                                                                   const std::string& permission);

/// Whether a grant with exactly `permission` exists on (`resource_type`, `resource_id`) for uid.
net::awaitable<result<bool>> has_grant(database& db, const std::string& resource_type,
                                       const std::string& resource_id, const std::string& uid,
                                       const std::string& permission);

/// UPDATE "user" SET last_active_at = now_s. Returns whether the row exists.
net::awaitable<result<bool>> touch_user_active(database& db, const std::string& uid, std::int64_t now_s);

/// channel_member.last_read_at and updated_at = now_ns on the first (channel_id, uid) row.
/// Returns whether a row was updated.
net::awaitable<result<bool>> mark_channel_read(database& db, const std::string& channel_id,
                                               const std::string& uid, std::int64_t now_ns);

/// chat.last_read_at = now_s when the chat belongs to uid. nullopt when the chat is missing or
/// someone else's (nothing written).
struct chat_read {
  std::int64_t last_read_at = 0;
  bool was_unread = false;  ///< last_read_at was NULL or older than updated_at
};
net::awaitable<result<std::optional<chat_read>>> mark_chat_read(database& db, const std::string& chat_id,
                                                                const std::string& uid, std::int64_t now_s);

/// Unread chats per folder of uid, each folder's count including its descendants' (the parent
/// chain is followed with a cycle guard). Only folders with a non-zero count appear.
net::awaitable<result<std::map<std::string, std::int64_t>>> folder_unread_counts(database& db,
                                                                                 const std::string& uid);

/// Cancels uid's pending timer chats of `chat_id` whose meta.cancel_on lists `reason`:
/// meta gains status "cancelled", timer_cancelled_at (ns) and timer_cancelled_by, updated_at = s.
/// Returns how many were cancelled.
net::awaitable<result<int>> cancel_chat_timers(database& db, const std::string& uid, const std::string& chat_id,
                                               const std::string& reason, std::int64_t now_ns);

/// The note save: shallow-merges the top-level keys of `patch` (a JSON object text) into
/// note.data and sets updated_at = now_ns, unless the merge changes nothing.
enum class note_save { saved, unchanged, missing };
net::awaitable<result<note_save>> save_note_data(database& db, const std::string& note_id,
                                                 const std::string& patch_json, std::int64_t now_ns);

}  // namespace owcore::db

namespace owcore::db {

/// owcore's own database only (the CLI checks schema_info::owned first): inserts a user with
/// Open WebUI's columns (times in seconds, settings NULL). A duplicate id or e-mail (case-
/// insensitive) is query_failed.
net::awaitable<result<void>> insert_user(database& db, const user_row& u);

/// Every user (id, email, name, role), oldest first; for `owcore user list`.
net::awaitable<result<std::vector<user_row>>> list_users(database& db);

}  // namespace owcore::db
