#include "owcore/db/queries.hpp"

#include "owcore/db/json_columns.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <set>

namespace owcore::db {
namespace {

namespace json = boost::json;

// The principals of a grant that apply to $uid: user:*, user:<uid>, or a group uid belongs to
// (through group_member, joined with "group" as Open WebUI's group query does). `anyone` never.
#define OWCORE_GRANT_PRINCIPALS(uid)                                                           \
  "((g.principal_type = 'user' AND (g.principal_id = '*' OR g.principal_id = " uid "))"     \
  " OR (g.principal_type = 'group' AND g.principal_id IN (SELECT gm.group_id FROM group_member gm" \
  " JOIN \"group\" gr ON gr.id = gm.group_id WHERE gm.user_id = " uid ")))"

constexpr statement load_user_sql{
    "owcore_load_user",
    "SELECT id, email, username, role, name, timezone, presence_state, status_emoji, status_message,"
    " status_expires_at, info, settings, oauth, scim, last_active_at, updated_at, created_at"
    " FROM \"user\" WHERE id = $1"};

constexpr statement group_permissions_sql{
    "owcore_group_permissions",
    "SELECT gr.permissions FROM \"group\" gr JOIN group_member gm ON gm.group_id = gr.id"
    " WHERE gm.user_id = $1 ORDER BY gr.updated_at DESC"};

constexpr statement member_channels_sql{
    "owcore_member_channels",
    "SELECT c.id FROM channel c JOIN channel_member m ON c.id = m.channel_id"
    " WHERE c.deleted_at IS NULL AND c.archived_at IS NULL AND c.type IN ('group', 'dm')"
    " AND m.user_id = $1 AND m.is_active IS TRUE"};

constexpr statement standard_channels_sql{
    "owcore_standard_channels",
    "SELECT c.id FROM channel c WHERE c.deleted_at IS NULL AND c.archived_at IS NULL"
    " AND (c.type IS NULL OR c.type = '' OR c.type NOT IN ('group', 'dm'))"
    " AND (c.user_id = $1 OR EXISTS (SELECT 1 FROM access_grant g WHERE g.resource_type = 'channel'"
    " AND g.resource_id = c.id AND g.permission = 'read' AND " OWCORE_GRANT_PRINCIPALS("$1") "))"};

constexpr statement note_access_sql{
    "owcore_note_access",
    "SELECT n.user_id, EXISTS (SELECT 1 FROM access_grant g WHERE g.resource_type = 'note'"
    " AND g.resource_id = n.id AND g.permission = $3 AND " OWCORE_GRANT_PRINCIPALS("$2") ")"
    " FROM note n WHERE n.id = $1"};

constexpr statement has_grant_sql{
    "owcore_has_grant",
    "SELECT 1 FROM access_grant g WHERE g.resource_type = $1 AND g.resource_id = $2"
    " AND g.permission = $4 AND " OWCORE_GRANT_PRINCIPALS("$3") " LIMIT 1"};

constexpr statement touch_user_sql{"owcore_touch_user",
                                   "UPDATE \"user\" SET last_active_at = $2 WHERE id = $1"};

constexpr statement channel_read_sql{
    "owcore_channel_read",
    "UPDATE channel_member SET last_read_at = $3, updated_at = $3 WHERE id = (SELECT id FROM"
    " channel_member WHERE channel_id = $1 AND user_id = $2 LIMIT 1)"};

constexpr statement chat_state_sql{"owcore_chat_state",
                                   "SELECT user_id, updated_at, last_read_at FROM chat WHERE id = $1"};
constexpr statement chat_read_sql{"owcore_chat_read",
                                  "UPDATE chat SET last_read_at = $3 WHERE id = $1 AND user_id = $2"};

constexpr statement folders_sql{"owcore_folders", "SELECT id, parent_id FROM folder WHERE user_id = $1"};
constexpr statement folder_unread_sql{
    "owcore_folder_unread",
    "SELECT c.folder_id, count(c.id) FROM chat c WHERE c.user_id = $1 AND c.folder_id IS NOT NULL"
    " AND c.archived = false AND c.updated_at > coalesce(c.last_read_at, 0)"
    " AND NOT EXISTS (SELECT 1 FROM chat_message m WHERE m.chat_id = c.id AND m.role = 'assistant'"
    " AND m.done IS FALSE) GROUP BY c.folder_id"};

// JSON predicates differ per dialect; both read the same fields Python's SQLAlchemy filter does.
constexpr statement timer_chats_sql{
    "owcore_timer_chats",
    "SELECT id, meta::text FROM chat WHERE user_id = $1 AND meta->>'internal' = 'true'"
    " AND meta->>'type' = 'timer' AND meta->>'parent_chat_id' = $2 AND meta->>'status' = 'pending'",
    "SELECT id, meta FROM chat WHERE user_id = ?1 AND CASE WHEN json_valid(meta) THEN"
    " json_extract(meta, '$.internal') = 1 AND json_extract(meta, '$.type') = 'timer'"
    " AND json_extract(meta, '$.parent_chat_id') = ?2 AND json_extract(meta, '$.status') = 'pending'"
    " ELSE 0 END"};
constexpr statement timer_cancel_sql{
    "owcore_timer_cancel",
    "UPDATE chat SET meta = $2, updated_at = $3 WHERE id = $1 AND meta::text = $4",
    "UPDATE chat SET meta = ?2, updated_at = ?3 WHERE id = ?1 AND meta = ?4"};

constexpr statement note_data_sql{"owcore_note_data", "SELECT data::text FROM note WHERE id = $1",
                                  "SELECT data FROM note WHERE id = ?1"};
constexpr statement note_save_sql{
    "owcore_note_save",
    "UPDATE note SET data = $2, updated_at = $3 WHERE id = $1 AND data::text IS NOT DISTINCT FROM $4",
    "UPDATE note SET data = ?2, updated_at = ?3 WHERE id = ?1 AND data IS ?4"};

#undef OWCORE_GRANT_PRINCIPALS

constexpr int cas_attempts = 5;

std::string text_or_empty(const std::optional<std::string>& c) { return c ? *c : std::string(); }


}  // namespace

net::awaitable<result<user_lookup>> load_user(database& db, const std::string& id) {
  auto r = co_await db.exec(load_user_sql, make_params(id));
  if (!r) co_return r.error();
  user_lookup out;
  if (r->empty()) co_return out;
  const auto& t = *r;
  auto& u = out.user;
  out.state = user_lookup::status::incomplete;
  if (!t.at(0, 0) || !t.at(0, 1) || !t.at(0, 3) || !t.at(0, 4)) co_return out;
  const auto last_active = as_int(t.at(0, 14));
  const auto updated = as_int(t.at(0, 15));
  const auto created = as_int(t.at(0, 16));
  if (!last_active || !updated || !created) co_return out;
  u.id = *t.at(0, 0);
  u.email = *t.at(0, 1);
  u.username = t.at(0, 2);
  u.role = *t.at(0, 3);
  u.name = *t.at(0, 4);
  u.timezone = t.at(0, 5);
  u.presence_state = t.at(0, 6);
  u.status_emoji = t.at(0, 7);
  u.status_message = t.at(0, 8);
  u.status_expires_at = as_int(t.at(0, 9));
  u.info = t.at(0, 10);
  u.settings = t.at(0, 11);
  u.oauth = t.at(0, 12);
  u.scim = t.at(0, 13);
  u.last_active_at = *last_active;
  u.updated_at = *updated;
  u.created_at = *created;
  out.state = user_lookup::status::found;
  co_return out;
}

net::awaitable<result<std::vector<std::optional<std::string>>>> group_permissions(database& db,
                                                                                 const std::string& uid) {
  auto r = co_await db.exec(group_permissions_sql, make_params(uid));
  if (!r) co_return r.error();
  std::vector<std::optional<std::string>> out;
  for (std::size_t i = 0; i < r->size(); ++i) out.push_back(r->at(i, 0));
  co_return out;
}

net::awaitable<result<std::vector<std::string>>> channel_ids(database& db, const std::string& uid) {
  std::set<std::string> ids;
  for (const auto* st : {&member_channels_sql, &standard_channels_sql}) {
    auto r = co_await db.exec(*st, make_params(uid));
    if (!r) co_return r.error();
    for (std::size_t i = 0; i < r->size(); ++i)
      if (r->at(i, 0)) ids.insert(*r->at(i, 0));
  }
  co_return std::vector<std::string>(ids.begin(), ids.end());
}

net::awaitable<result<std::optional<note_access_row>>> note_access(database& db, const std::string& note_id,
                                                                   const std::string& uid,
                                                                   const std::string& permission) {
  auto r = co_await db.exec(note_access_sql, make_params(note_id, uid, permission));
  if (!r) co_return r.error();
  if (r->empty()) co_return std::optional<note_access_row>{};
  note_access_row out;
  out.owner = text_or_empty(r->at(0, 0));
  out.granted = as_bool(r->at(0, 1)).value_or(false);
  co_return std::optional<note_access_row>(std::move(out));
}

net::awaitable<result<bool>> has_grant(database& db, const std::string& resource_type,
                                       const std::string& resource_id, const std::string& uid,
                                       const std::string& permission) {
  auto r = co_await db.exec(has_grant_sql, make_params(resource_type, resource_id, uid, permission));
  if (!r) co_return r.error();
  co_return !r->empty();
}

net::awaitable<result<bool>> touch_user_active(database& db, const std::string& uid, std::int64_t now_s) {
  auto r = co_await db.exec(touch_user_sql, make_params(uid, now_s));
  if (!r) co_return r.error();
  co_return r->affected() > 0;
}

net::awaitable<result<bool>> mark_channel_read(database& db, const std::string& channel_id,
                                               const std::string& uid, std::int64_t now_ns) {
  auto r = co_await db.exec(channel_read_sql, make_params(channel_id, uid, now_ns));
  if (!r) co_return r.error();
  co_return r->affected() > 0;
}

net::awaitable<result<std::optional<chat_read>>> mark_chat_read(database& db, const std::string& chat_id,
                                                                const std::string& uid, std::int64_t now_s) {
  auto state = co_await db.exec(chat_state_sql, make_params(chat_id));
  if (!state) co_return state.error();
  if (state->empty() || state->at(0, 0) != uid) co_return std::optional<chat_read>{};
  const auto updated = as_int(state->at(0, 1));
  const auto last_read = as_int(state->at(0, 2));
  chat_read out;
  out.was_unread = !last_read || (updated && *updated > *last_read);
  out.last_read_at = now_s;
  auto w = co_await db.exec(chat_read_sql, make_params(chat_id, uid, now_s));
  if (!w) co_return w.error();
  if (w->affected() == 0) co_return std::optional<chat_read>{};
  co_return std::optional<chat_read>(out);
}

net::awaitable<result<std::map<std::string, std::int64_t>>> folder_unread_counts(database& db,
                                                                                 const std::string& uid) {
  auto folders = co_await db.exec(folders_sql, make_params(uid));
  if (!folders) co_return folders.error();
  std::map<std::string, std::optional<std::string>> parent;
  for (std::size_t i = 0; i < folders->size(); ++i)
    if (folders->at(i, 0)) parent[*folders->at(i, 0)] = folders->at(i, 1);
  std::map<std::string, std::int64_t> totals;
  if (parent.empty()) co_return totals;
  auto counts = co_await db.exec(folder_unread_sql, make_params(uid));
  if (!counts) co_return counts.error();
  for (std::size_t i = 0; i < counts->size(); ++i) {
    const auto& folder = counts->at(i, 0);
    const auto n = as_int(counts->at(i, 1)).value_or(0);
    if (!folder || n <= 0 || !parent.count(*folder)) continue;  // a folder of someone else: ignored
    std::set<std::string> seen;
    std::optional<std::string> at = folder;
    while (at && parent.count(*at) && seen.insert(*at).second) {
      totals[*at] += n;
      at = parent[*at];
    }
  }
  co_return totals;
}

net::awaitable<result<int>> cancel_chat_timers(database& db, const std::string& uid, const std::string& chat_id,
                                               const std::string& reason, std::int64_t now_ns) {
  int cancelled = 0;
  auto found = co_await db.exec(timer_chats_sql, make_params(uid, chat_id));
  if (!found) co_return found.error();
  for (std::size_t i = 0; i < found->size(); ++i) {
    const auto id = text_or_empty(found->at(i, 0));
    std::optional<std::string> meta_text = found->at(i, 1);
    for (int attempt = 0;; ++attempt) {
      auto cancelled_meta = cancel_timer_meta(meta_text, reason, now_ns);
      if (!cancelled_meta) break;
      auto w = co_await db.exec(timer_cancel_sql, make_params(id, std::move(*cancelled_meta), now_ns / 1000000000, *meta_text));
      if (!w) co_return w.error();
      if (w->affected() > 0) {
        ++cancelled;
        break;
      }
      if (attempt + 1 >= cas_attempts) co_return fail(error::conflict, "chat " + id + " meta kept changing");
      static constexpr statement reread{"owcore_chat_meta", "SELECT meta::text FROM chat WHERE id = $1",
                                        "SELECT meta FROM chat WHERE id = ?1"};
      auto again = co_await db.exec(reread, make_params(id));
      if (!again) co_return again.error();
      if (again->empty()) break;
      meta_text = again->at(0, 0);
    }
  }
  co_return cancelled;
}

net::awaitable<result<note_save>> save_note_data(database& db, const std::string& note_id,
                                                 const std::string& patch_json, std::int64_t now_ns) {
  boost::system::error_code ec;
  auto patch = json::parse(patch_json, ec);
  if (ec || !patch.is_object()) co_return fail(error::bad_row, "note data must be a JSON object");
  for (int attempt = 0; attempt < cas_attempts; ++attempt) {
    auto current = co_await db.exec(note_data_sql, make_params(note_id));
    if (!current) co_return current.error();
    if (current->empty()) co_return note_save::missing;
    const auto& old_text = current->at(0, 0);
    auto merged = merge_note_data(old_text, patch.as_object());
    if (merged.result == note_merge::outcome::unchanged) co_return note_save::unchanged;
    if (merged.result == note_merge::outcome::unreadable)
      co_return fail(error::bad_row, "note " + note_id + " data is not JSON; not overwritten");
    param expected = old_text ? param(*old_text) : param(nullptr);
    auto w = co_await db.exec(note_save_sql, make_params(note_id, std::move(merged.text), now_ns, std::move(expected)));
    if (!w) co_return w.error();
    if (w->affected() > 0) co_return note_save::saved;
  }
  co_return fail(error::conflict, "note " + note_id + " data kept changing");
}

}  // namespace owcore::db

namespace owcore::db {

net::awaitable<result<void>> insert_user(database& db, const user_row& u) {
  static constexpr statement insert{
      "owcore_insert_user",
      "INSERT INTO \"user\" (id, email, name, role, last_active_at, updated_at, created_at)"
      " VALUES ($1, $2, $3, $4, $5, $5, $5)"};
  auto r = co_await db.exec(insert, make_params(u.id, u.email, u.name, u.role, u.created_at));
  if (!r) co_return r.error();
  co_return result<void>{};
}

net::awaitable<result<std::vector<user_row>>> list_users(database& db) {
  static constexpr statement list{"owcore_list_users",
                                  "SELECT id, email, name, role, created_at FROM \"user\" ORDER BY created_at, id"};
  auto r = co_await db.exec(list, params{});
  if (!r) co_return r.error();
  std::vector<user_row> out;
  for (std::size_t i = 0; i < r->size(); ++i) {
    user_row u;
    u.id = r->at(i, 0).value_or("");
    u.email = r->at(i, 1).value_or("");
    u.name = r->at(i, 2).value_or("");
    u.role = r->at(i, 3).value_or("");
    u.created_at = as_int(r->at(i, 4)).value_or(0);
    out.push_back(std::move(u));
  }
  co_return out;
}

}  // namespace owcore::db
