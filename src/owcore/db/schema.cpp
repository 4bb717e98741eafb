#include "owcore/db/schema.hpp"

#include <array>

namespace owcore::db {
namespace {

// 0.11.0, then the three linear migrations of 0.11.1 (group_member index, oauth repair, chat
// timer columns and indexes); 0.11.2 .. 0.11.5 added none that owcore has seen.
constexpr std::array<std::string_view, 4> heads{"f0bd01a18a3d", "1ce6ade7d93b", "6d09d1bf1f23", "d4c1a8e37b62"};

constexpr std::array<std::string_view, 10> tables{"user",  "group", "group_member", "channel",      "channel_member",
                                                  "note",  "access_grant", "chat", "chat_message", "folder"};

constexpr statement alembic_sql{"owcore_alembic", "SELECT version_num FROM alembic_version"};
constexpr statement tables_sql{
    "owcore_tables",
    "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
    "SELECT name FROM sqlite_master WHERE type = 'table'"};

constexpr std::string_view owned_ddl = R"sql(
CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);
CREATE TABLE IF NOT EXISTS owcore_owned (created_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS "user" (
  id VARCHAR NOT NULL PRIMARY KEY, email VARCHAR, username VARCHAR(50), role VARCHAR, name VARCHAR,
  profile_image_url TEXT, profile_banner_image_url TEXT, bio TEXT, gender TEXT, date_of_birth DATE,
  timezone VARCHAR, presence_state VARCHAR, status_emoji VARCHAR, status_message TEXT,
  status_expires_at BIGINT, info JSON, settings JSON, oauth JSON, scim JSON, variables JSON,
  last_active_at BIGINT, updated_at BIGINT, created_at BIGINT);
CREATE UNIQUE INDEX IF NOT EXISTS uq_user_email_lower ON "user" (lower(email)) WHERE email IS NOT NULL;
CREATE TABLE IF NOT EXISTS "group" (
  id TEXT NOT NULL PRIMARY KEY, user_id TEXT, name TEXT, description TEXT, data JSON, meta JSON,
  permissions JSON, created_at BIGINT, updated_at BIGINT);
CREATE TABLE IF NOT EXISTS group_member (
  id TEXT NOT NULL PRIMARY KEY, group_id TEXT NOT NULL REFERENCES "group"(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL, created_at BIGINT, updated_at BIGINT);
CREATE TABLE IF NOT EXISTS channel (
  id TEXT NOT NULL PRIMARY KEY, user_id TEXT, type TEXT, name TEXT, description TEXT,
  is_private BOOLEAN, data JSON, meta JSON, created_at BIGINT, updated_at BIGINT, updated_by TEXT,
  archived_at BIGINT, archived_by TEXT, deleted_at BIGINT, deleted_by TEXT);
CREATE TABLE IF NOT EXISTS channel_member (
  id TEXT NOT NULL PRIMARY KEY, channel_id TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT,
  status TEXT, is_active BOOLEAN NOT NULL DEFAULT 1, is_channel_muted BOOLEAN NOT NULL DEFAULT 0,
  is_channel_pinned BOOLEAN NOT NULL DEFAULT 0, data JSON, meta JSON, invited_at BIGINT,
  invited_by TEXT, joined_at BIGINT NOT NULL, left_at BIGINT, last_read_at BIGINT,
  created_at BIGINT, updated_at BIGINT);
CREATE TABLE IF NOT EXISTS note (
  id TEXT NOT NULL PRIMARY KEY, user_id TEXT, title TEXT, data JSON, meta JSON,
  created_at BIGINT, updated_at BIGINT);
CREATE TABLE IF NOT EXISTS access_grant (
  id TEXT NOT NULL PRIMARY KEY, resource_type TEXT NOT NULL, resource_id TEXT NOT NULL,
  principal_type TEXT NOT NULL, principal_id TEXT NOT NULL, permission TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  CONSTRAINT uq_access_grant_grant UNIQUE (resource_type, resource_id, principal_type, principal_id, permission));
CREATE INDEX IF NOT EXISTS idx_access_grant_resource ON access_grant (resource_type, resource_id);
CREATE INDEX IF NOT EXISTS idx_access_grant_principal ON access_grant (principal_type, principal_id);
CREATE TABLE IF NOT EXISTS folder (id TEXT NOT NULL, parent_id TEXT, user_id TEXT NOT NULL,
  name TEXT, created_at BIGINT, updated_at BIGINT, PRIMARY KEY (id, user_id));
CREATE TABLE IF NOT EXISTS chat (
  id VARCHAR NOT NULL PRIMARY KEY, user_id VARCHAR, title TEXT, chat JSON, created_at BIGINT,
  updated_at BIGINT, share_id TEXT, archived BOOLEAN DEFAULT 0, pinned BOOLEAN DEFAULT 0,
  meta JSON DEFAULT '{}' NOT NULL, folder_id TEXT, last_read_at BIGINT);
CREATE TABLE IF NOT EXISTS chat_message (
  id TEXT NOT NULL PRIMARY KEY, chat_id TEXT REFERENCES chat(id) ON DELETE CASCADE,
  role TEXT NOT NULL, done BOOLEAN, created_at BIGINT, updated_at BIGINT);
INSERT INTO alembic_version (version_num) SELECT 'f0bd01a18a3d' WHERE NOT EXISTS (SELECT 1 FROM alembic_version);
INSERT INTO owcore_owned (created_at) SELECT CAST(strftime('%s','now') AS INTEGER) WHERE NOT EXISTS (SELECT 1 FROM owcore_owned);
)sql";

}  // namespace

bool known_head(std::string_view v) noexcept {
  for (auto h : heads)
    if (h == v) return true;
  return false;
}

net::awaitable<result<schema_info>> check_schema(database& db) {
  auto present = co_await db.exec(tables_sql, params{});
  if (!present) co_return present.error();
  auto has = [&](std::string_view name) {
    for (std::size_t i = 0; i < present->size(); ++i)
      if (present->at(i, 0) && *present->at(i, 0) == name) return true;
    return false;
  };
  if (!has("alembic_version"))
    co_return fail(error::schema_missing, "no alembic_version table: this is not an Open WebUI database");
  schema_info info;
  auto head = co_await db.exec(alembic_sql, params{});
  if (!head) co_return head.error();
  if (!head->empty() && head->at(0, 0)) info.head = *head->at(0, 0);
  info.known = known_head(info.head);
  info.owned = has("owcore_owned");
  if (!has("access_grant"))
    co_return fail(error::schema_too_old,
                   "schema head '" + info.head + "' predates the access_grant migration (" +
                       std::string(access_grant_revision) +
                       "); upgrade Open WebUI to 0.11 first so that permissions live in access_grant");
  for (auto t : tables)
    if (!has(t)) co_return fail(error::schema_missing, "table \"" + std::string(t) + "\" is missing");
  co_return info;
}

net::awaitable<result<void>> create_owned_schema(database& db) {
  co_return co_await db.exec_script(std::string(owned_ddl));
}

std::string_view owned_schema_sql() noexcept { return owned_ddl; }

}  // namespace owcore::db
