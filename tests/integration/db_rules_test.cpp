// The rules owcore applies to Open WebUI's database (docs/identity.md, docs/database.md), run
// against a SQLite file and a real PostgreSQL 15 server, both created from Open WebUI's own DDL
// (tests/fixtures/openwebui). Every rule has a test that fails when the rule changes.
#include "owcore/coord/auth/authenticator.hpp"
#include "owcore/coord/identity/db_writes.hpp"
#include "owcore/coord/identity/identity_service.hpp"
#include "owcore/coord/identity/permissions.hpp"
#include "owcore/db/json_columns.hpp"
#include "owcore/db/queries.hpp"
#include "owcore/db/schema.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "support/io_runner.hpp"
#include "support/openwebui_db.hpp"
#include "support/postgres_server.hpp"
#include "support/wait.hpp"

namespace owcore::db {
// Names the backend in gtest's messages (found by ADL).
inline void PrintTo(dialect d, std::ostream* os) { *os << to_string(d); }
}  // namespace owcore::db

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace db_rules_test {

namespace {

namespace auth = owcore::coord::auth;
namespace db = owcore::db;
namespace identity = owcore::coord::identity;
namespace json = boost::json;
using namespace std::chrono_literals;
using owcore::test::deadline_after;
using owcore::test::io_runner;
using owcore::test::openwebui_db;
using owcore::test::poll_until;
using owcore::test::postgres_server;

// Open WebUI's units: user, group, access_grant and chat in seconds; note, channel and
// channel_member in nanoseconds. Fixture times are far in the past so that "now" is always later.
constexpr std::int64_t t_s = 1700000000;
constexpr std::int64_t t_ns = 1700000000000000000;

// Users of every kind the identity rules distinguish.
constexpr const char* users_sql = R"sql(
INSERT INTO "user" (id, email, username, role, name, timezone, settings, info, last_active_at, updated_at, created_at) VALUES
  ('u_admin', 'admin@example.com', NULL, 'admin', 'Ada', NULL, NULL, NULL, 1700000000, 1700000000, 1700000000),
  ('u_alice', 'alice@example.com', 'alice', 'user', 'Alice', 'Europe/Paris', '{"ui":{"theme":"dark"}}', '{"a":1}', 1700000001, 1700000002, 1700000003),
  ('u_bob', 'bob@example.com', NULL, 'user', 'Bob', NULL, NULL, NULL, 1700000000, 1700000000, 1700000000),
  ('u_carol', 'carol@example.com', NULL, 'user', 'Carol', NULL, NULL, NULL, 1700000000, 1700000000, 1700000000),
  ('u_pending', 'pending@example.com', NULL, 'pending', 'Pat', NULL, NULL, NULL, 1700000000, 1700000000, 1700000000),
  ('u_noname', 'noname@example.com', NULL, 'user', NULL, NULL, NULL, NULL, 1700000000, 1700000000, 1700000000),
  ('u_noactive', 'noactive@example.com', NULL, 'user', 'Nia', NULL, NULL, NULL, NULL, 1700000000, 1700000000),
  ('u_upper', 'upper@example.com', NULL, 'ADMIN', 'Upper', NULL, NULL, NULL, 1700000000, 1700000000, 1700000000),
  ('u_odd', 'odd@example.com', NULL, 'superuser', 'Odd', NULL, NULL, NULL, 1700000000, 1700000000, 1700000000),
  ('u_norole', 'norole@example.com', NULL, NULL, 'Nora', NULL, NULL, NULL, 1700000000, 1700000000, 1700000000);
)sql";

// g_share carries the group grants (bob is its only member); the feature groups start empty and
// the feature test adds members.
constexpr const char* groups_sql = R"sql(
INSERT INTO "group" (id, user_id, name, permissions, created_at, updated_at) VALUES
  ('g_share', 'u_admin', 'Share', NULL, 1700000000, 1700000000),
  ('g_true', 'u_admin', 'True', '{"features":{"channels":true}}', 1700000000, 1700000000),
  ('g_false', 'u_admin', 'False', '{"features":{"channels":false}}', 1700000000, 1700000001),
  ('g_missing', 'u_admin', 'Missing', '{"features":{"notes":true}}', 1700000000, 1700000002),
  ('g_notobj', 'u_admin', 'NotObject', '{"features":"channels"}', 1700000000, 1700000003),
  ('g_one', 'u_admin', 'One', '{"features":{"channels":1}}', 1700000000, 1700000004),
  ('g_yes', 'u_admin', 'Yes', '{"features":{"channels":"yes"}}', 1700000000, 1700000005),
  ('g_zero', 'u_admin', 'Zero', '{"features":{"channels":0}}', 1700000000, 1700000006),
  ('g_emptystr', 'u_admin', 'EmptyString', '{"features":{"channels":""}}', 1700000000, 1700000007),
  ('g_emptyobj', 'u_admin', 'EmptyObject', '{}', 1700000000, 1700000008),
  ('g_nullperm', 'u_admin', 'NullPermissions', NULL, 1700000000, 1700000009),
  ('g_jsonnull', 'u_admin', 'JsonNull', 'null', 1700000000, 1700000010);
INSERT INTO group_member (id, group_id, user_id, created_at, updated_at) VALUES
  ('gm_1', 'g_share', 'u_bob', 1700000000, 1700000000);
)sql";

// Notes owned by alice (bob owns n_bob_owned) and their grants.
constexpr const char* notes_sql = R"sql(
INSERT INTO note (id, user_id, title, data, created_at, updated_at) VALUES
  ('n_star', 'u_alice', 'Star', '{"content":{"md":"s"}}', 1700000000000000000, 1700000000000000000),
  ('n_bob_read', 'u_alice', 'BobRead', NULL, 1700000000000000000, 1700000000000000000),
  ('n_group', 'u_alice', 'Group', NULL, 1700000000000000000, 1700000000000000000),
  ('n_bob_write', 'u_alice', 'BobWrite', NULL, 1700000000000000000, 1700000000000000000),
  ('n_anyone', 'u_alice', 'Anyone', NULL, 1700000000000000000, 1700000000000000000),
  ('n_carol', 'u_alice', 'Carol', NULL, 1700000000000000000, 1700000000000000000),
  ('n_plain', 'u_alice', 'Plain', NULL, 1700000000000000000, 1700000000000000000),
  ('n_ghost', 'u_alice', 'Ghost', NULL, 1700000000000000000, 1700000000000000000),
  ('n_bob_owned', 'u_bob', 'BobOwned', NULL, 1700000000000000000, 1700000000000000000),
  ('n_save', 'u_alice', 'Save', '{"content":{"md":"a","html":"<p>a</p>"},"title_hint":"keep","other":{"k":1}}', 1700000000000000000, 1700000000000000000),
  ('n_null', 'u_alice', 'Null', NULL, 1700000000000000000, 1700000000000000000);
INSERT INTO access_grant (id, resource_type, resource_id, principal_type, principal_id, permission, created_at) VALUES
  ('ag_1', 'note', 'n_star', 'user', '*', 'read', 1700000000),
  ('ag_2', 'note', 'n_bob_read', 'user', 'u_bob', 'read', 1700000000),
  ('ag_3', 'note', 'n_group', 'group', 'g_share', 'read', 1700000000),
  ('ag_4', 'note', 'n_bob_write', 'user', 'u_bob', 'write', 1700000000),
  ('ag_5', 'note', 'n_anyone', 'anyone', '*', 'read', 1700000000),
  ('ag_6', 'note', 'n_carol', 'user', 'u_carol', 'read', 1700000000),
  ('ag_7', 'channel', 'n_plain', 'user', 'u_bob', 'read', 1700000000),
  ('ag_8', 'note', 'n_ghost', 'group', 'g_ghost', 'read', 1700000000),
  ('ag_9', 'note', 'n_save', 'user', 'u_bob', 'write', 1700000000),
  ('ag_10', 'note', 'n_group', 'group', 'g_true', 'write', 1700000000);
)sql";

// Channels of every type and state, their memberships and grants.
constexpr const char* channels_sql = R"sql(
INSERT INTO channel (id, user_id, type, name, created_at, updated_at, archived_at, deleted_at) VALUES
  ('c_group_active', 'u_admin', 'group', 'a', 1700000000000000000, 1700000000000000000, NULL, NULL),
  ('c_group_inactive', 'u_admin', 'group', 'b', 1700000000000000000, 1700000000000000000, NULL, NULL),
  ('c_dm_active', 'u_admin', 'dm', 'c', 1700000000000000000, 1700000000000000000, NULL, NULL),
  ('c_dm_archived', 'u_admin', 'dm', 'd', 1700000000000000000, 1700000000000000000, 1700000000000000001, NULL),
  ('c_dm_deleted', 'u_admin', 'dm', 'e', 1700000000000000000, 1700000000000000000, NULL, 1700000000000000001),
  ('c_dm_other', 'u_admin', 'dm', 'f', 1700000000000000000, 1700000000000000000, NULL, NULL),
  ('c_group_owned', 'u_bob', 'group', 'g', 1700000000000000000, 1700000000000000000, NULL, NULL),
  ('c_group_granted', 'u_admin', 'group', 'h', 1700000000000000000, 1700000000000000000, NULL, NULL),
  ('c_null_owned', 'u_bob', NULL, 'i', 1700000000000000000, 1700000000000000000, NULL, NULL),
  ('c_empty_owned', 'u_bob', '', 'j', 1700000000000000000, 1700000000000000000, NULL, NULL),
  ('c_std_star', 'u_admin', 'standard', 'k', 1700000000000000000, 1700000000000000000, NULL, NULL),
  ('c_std_user', 'u_admin', 'standard', 'l', 1700000000000000000, 1700000000000000000, NULL, NULL),
  ('c_std_group', 'u_admin', NULL, 'm', 1700000000000000000, 1700000000000000000, NULL, NULL),
  ('c_std_write', 'u_admin', 'standard', 'n', 1700000000000000000, 1700000000000000000, NULL, NULL),
  ('c_std_anyone', 'u_admin', '', 'o', 1700000000000000000, 1700000000000000000, NULL, NULL),
  ('c_std_member', 'u_admin', 'standard', 'p', 1700000000000000000, 1700000000000000000, NULL, NULL),
  ('c_std_archived', 'u_bob', 'standard', 'q', 1700000000000000000, 1700000000000000000, 1700000000000000001, NULL),
  ('c_std_deleted', 'u_bob', NULL, 'r', 1700000000000000000, 1700000000000000000, NULL, 1700000000000000001),
  ('c_std_granted_archived', 'u_admin', 'standard', 's', 1700000000000000000, 1700000000000000000, 1700000000000000001, NULL),
  ('c_dup', 'u_admin', 'group', 't', 1700000000000000000, 1700000000000000000, NULL, 1700000000000000001);
INSERT INTO channel_member (id, channel_id, user_id, is_active, joined_at, last_read_at, created_at, updated_at) VALUES
  ('cm_1', 'c_group_active', 'u_bob', true, 1700000000000000000, NULL, 1700000000000000000, 1700000000000000000),
  ('cm_2', 'c_group_inactive', 'u_bob', false, 1700000000000000000, NULL, 1700000000000000000, 1700000000000000000),
  ('cm_3', 'c_dm_active', 'u_bob', true, 1700000000000000000, NULL, 1700000000000000000, 1700000000000000000),
  ('cm_4', 'c_dm_archived', 'u_bob', true, 1700000000000000000, NULL, 1700000000000000000, 1700000000000000000),
  ('cm_5', 'c_std_member', 'u_bob', true, 1700000000000000000, NULL, 1700000000000000000, 1700000000000000000),
  ('cm_6', 'c_dm_other', 'u_carol', true, 1700000000000000000, NULL, 1700000000000000000, 1700000000000000000),
  ('cm_7', 'c_dup', 'u_bob', true, 1700000000000000000, NULL, 1700000000000000000, 1700000000000000000),
  ('cm_8', 'c_dup', 'u_bob', true, 1700000000000000000, NULL, 1700000000000000000, 1700000000000000000),
  ('cm_9', 'c_dm_deleted', 'u_bob', true, 1700000000000000000, NULL, 1700000000000000000, 1700000000000000000),
  ('cm_10', 'c_dm_active', 'u_alice', true, 1700000000000000000, 5, 1700000000000000000, 6);
INSERT INTO access_grant (id, resource_type, resource_id, principal_type, principal_id, permission, created_at) VALUES
  ('agc_1', 'channel', 'c_std_star', 'user', '*', 'read', 1700000000),
  ('agc_2', 'channel', 'c_std_user', 'user', 'u_bob', 'read', 1700000000),
  ('agc_3', 'channel', 'c_std_group', 'group', 'g_share', 'read', 1700000000),
  ('agc_4', 'channel', 'c_std_write', 'user', 'u_bob', 'write', 1700000000),
  ('agc_5', 'channel', 'c_std_anyone', 'anyone', '*', 'read', 1700000000),
  ('agc_6', 'channel', 'c_group_granted', 'user', '*', 'read', 1700000000),
  ('agc_7', 'channel', 'c_std_granted_archived', 'user', '*', 'read', 1700000000),
  ('agc_8', 'note', 'c_std_write', 'user', 'u_bob', 'read', 1700000000);
)sql";

// alice's folders: f_root > f_mid > f_leaf, a parent cycle f_cyc_a <-> f_cyc_b; bob's f_bob.
// Chats (seconds): unread = updated_at > coalesce(last_read_at, 0).
constexpr const char* chats_sql = R"sql(
INSERT INTO folder (id, parent_id, user_id, name, is_expanded, created_at, updated_at) VALUES
  ('f_root', NULL, 'u_alice', 'root', false, 1700000000, 1700000000),
  ('f_mid', 'f_root', 'u_alice', 'mid', false, 1700000000, 1700000000),
  ('f_leaf', 'f_mid', 'u_alice', 'leaf', false, 1700000000, 1700000000),
  ('f_cyc_a', 'f_cyc_b', 'u_alice', 'a', false, 1700000000, 1700000000),
  ('f_cyc_b', 'f_cyc_a', 'u_alice', 'b', false, 1700000000, 1700000000),
  ('f_bob', NULL, 'u_bob', 'bob', false, 1700000000, 1700000000),
  ('f_root', NULL, 'u_bob', 'bobs root', false, 1700000000, 1700000000);
INSERT INTO chat (id, user_id, title, chat, created_at, updated_at, archived, meta, folder_id, last_read_at) VALUES
  ('ch_leaf_1', 'u_alice', 'x', '{}', 1700000000, 1700000100, false, '{}', 'f_leaf', NULL),
  ('ch_leaf_2', 'u_alice', 'x', '{}', 1700000000, 1700000100, false, '{}', 'f_leaf', 1700000050),
  ('ch_leaf_read', 'u_alice', 'x', '{}', 1700000000, 1700000100, false, '{}', 'f_leaf', 1700000200),
  ('ch_leaf_eq', 'u_alice', 'x', '{}', 1700000000, 1700000100, false, '{}', 'f_leaf', 1700000100),
  ('ch_mid_1', 'u_alice', 'x', '{}', 1700000000, 1700000100, false, '{}', 'f_mid', NULL),
  ('ch_root_archived', 'u_alice', 'x', '{}', 1700000000, 1700000100, true, '{}', 'f_root', NULL),
  ('ch_root_pending', 'u_alice', 'x', '{}', 1700000000, 1700000100, false, '{}', 'f_root', NULL),
  ('ch_root_done', 'u_alice', 'x', '{}', 1700000000, 1700000100, false, '{}', 'f_root', NULL),
  ('ch_cyc', 'u_alice', 'x', '{}', 1700000000, 1700000100, false, '{}', 'f_cyc_a', NULL),
  ('ch_nofolder', 'u_alice', 'x', '{}', 1700000000, 1700000100, false, '{}', NULL, NULL),
  ('ch_foreign_folder', 'u_alice', 'x', '{}', 1700000000, 1700000100, false, '{}', 'f_bob', NULL),
  ('ch_bob', 'u_bob', 'x', '{}', 1700000000, 1700000100, false, '{}', 'f_bob', NULL),
  ('ch_bob_in_root', 'u_bob', 'x', '{}', 1700000000, 1700000100, false, '{}', 'f_root', NULL),
  ('ch_bob_in_leaf', 'u_bob', 'x', '{}', 1700000000, 1700000100, false, '{}', 'f_leaf', NULL);
INSERT INTO chat_message (id, chat_id, user_id, role, content, done, created_at, updated_at) VALUES
  ('m_1', 'ch_root_pending', 'u_alice', 'user', '"hi"', true, 1700000000, 1700000000),
  ('m_2', 'ch_root_pending', NULL, 'assistant', '""', false, 1700000000, 1700000000),
  ('m_3', 'ch_root_done', 'u_alice', 'user', '"hi"', false, 1700000000, 1700000000),
  ('m_4', 'ch_root_done', NULL, 'assistant', '"ok"', true, 1700000000, 1700000000);
)sql";

// Timer chats of alice's ch_leaf_1: two to cancel, the others must stay as they are.
constexpr const char* timers_sql = R"sql(
INSERT INTO chat (id, user_id, title, chat, created_at, updated_at, archived, meta, folder_id, last_read_at) VALUES
  ('t_cancel_1', 'u_alice', 't', '{}', 1700000000, 1700000000, false, '{"internal":true,"type":"timer","parent_chat_id":"ch_leaf_1","status":"pending","cancel_on":["chat.read","chat.reply"],"fire_at":1700000900,"z":{"nested":[1,2]}}', NULL, NULL),
  ('t_cancel_2', 'u_alice', 't', '{}', 1700000000, 1700000000, false, '{"cancel_on":["chat.read"],"status":"pending","parent_chat_id":"ch_leaf_1","type":"timer","internal":true}', NULL, NULL),
  ('t_other_parent', 'u_alice', 't', '{}', 1700000000, 1700000000, false, '{"internal":true,"type":"timer","parent_chat_id":"ch_leaf_2","status":"pending","cancel_on":["chat.read"]}', NULL, NULL),
  ('t_no_read', 'u_alice', 't', '{}', 1700000000, 1700000000, false, '{"internal":true,"type":"timer","parent_chat_id":"ch_leaf_1","status":"pending","cancel_on":["chat.reply"]}', NULL, NULL),
  ('t_no_cancel_on', 'u_alice', 't', '{}', 1700000000, 1700000000, false, '{"internal":true,"type":"timer","parent_chat_id":"ch_leaf_1","status":"pending"}', NULL, NULL),
  ('t_fired', 'u_alice', 't', '{}', 1700000000, 1700000000, false, '{"internal":true,"type":"timer","parent_chat_id":"ch_leaf_1","status":"fired","cancel_on":["chat.read"]}', NULL, NULL),
  ('t_not_internal', 'u_alice', 't', '{}', 1700000000, 1700000000, false, '{"internal":false,"type":"timer","parent_chat_id":"ch_leaf_1","status":"pending","cancel_on":["chat.read"]}', NULL, NULL),
  ('t_not_timer', 'u_alice', 't', '{}', 1700000000, 1700000000, false, '{"internal":true,"type":"reminder","parent_chat_id":"ch_leaf_1","status":"pending","cancel_on":["chat.read"]}', NULL, NULL),
  ('t_bob', 'u_bob', 't', '{}', 1700000000, 1700000000, false, '{"internal":true,"type":"timer","parent_chat_id":"ch_leaf_1","status":"pending","cancel_on":["chat.read"]}', NULL, NULL);
)sql";

db::user_row as_user(const std::string& id, const std::string& role = "user") {
  db::user_row u;
  u.id = id;
  u.role = role;
  u.name = id;
  u.email = id + "@example.com";
  return u;
}

std::string describe(const db::failure& f) { return f.message(); }

template <class T>
T ok(db::result<T> r) {
  if (!r) throw std::runtime_error("unexpected database error: " + describe(r.error()));
  return std::move(*r);
}

// The time before and after an action, in both units, to bound what it wrote.
struct clock_window {
  std::int64_t s0 = identity::now_seconds(), ns0 = identity::now_nanoseconds();
  std::int64_t s1 = 0, ns1 = 0;
  void close() {
    s1 = identity::now_seconds();
    ns1 = identity::now_nanoseconds();
  }
};

class DbRules : public ::testing::TestWithParam<db::dialect> {
 protected:
  void SetUp() override {
    owui_ = std::make_unique<openwebui_db>(r_, GetParam());
    owui_->exec_script(std::string(users_sql) + groups_sql + notes_sql + channels_sql + chats_sql + timers_sql);
    db_ = owui_->database();
  }

  std::optional<std::string> cell(const std::string& sql) { return owui_->scalar(sql); }
  std::optional<std::int64_t> int_cell(const std::string& sql) { return db::as_int(cell(sql)); }
  void exec(const std::string& sql) { owui_->exec_script(sql); }

  std::shared_ptr<identity::permission_service> perms(bool default_channels = true,
                                                      std::chrono::milliseconds note_ttl = 3000ms) {
    identity::permission_options o;
    o.default_features_channels = default_channels;
    o.note_cache_ttl = note_ttl;
    return std::make_shared<identity::permission_service>(db_, o);
  }

  identity::write_service writes(identity::write_mode mode = identity::write_mode::all,
                                 std::chrono::milliseconds active_interval = 0ms) {
    identity::write_options o;
    o.mode = mode;
    o.active_interval = active_interval;
    return identity::write_service(db_, perms(true, 3600s), identity::make_memory_activity_gate(), o);
  }

  bool note(identity::permission_service& p, const std::string& uid, const std::string& note_id,
            const std::string& permission, const std::string& role = "user") {
    const auto u = as_user(uid, role);
    return ok(r_.run(p.can_access_note(u, note_id, permission)));
  }

  std::vector<std::string> join(identity::permission_service& p, const std::string& uid,
                                const std::string& role = "user") {
    const auto u = as_user(uid, role);
    return ok(r_.run(p.channels_to_join(u)));
  }

  // Every row of a table as "col1|col2|..." text, to prove that nothing changed.
  std::vector<std::string> snapshot(const std::string& sql) {
    auto rows = owui_->select(sql);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      std::string line;
      for (std::size_t c = 0; c < rows.columns(); ++c) line += rows.at(i, c).value_or("<null>") + "|";
      out.push_back(std::move(line));
    }
    return out;
  }
  std::vector<std::string> all_writable_rows() {
    std::vector<std::string> out;
    for (const auto* sql : {"SELECT id, last_active_at FROM \"user\" ORDER BY id",
                            "SELECT id, last_read_at, updated_at FROM channel_member ORDER BY id",
                            "SELECT id, last_read_at, updated_at, meta FROM chat ORDER BY id",
                            "SELECT id, data, updated_at FROM note ORDER BY id"}) {
      auto part = snapshot(sql);
      out.insert(out.end(), part.begin(), part.end());
    }
    return out;
  }

  io_runner r_;
  std::unique_ptr<openwebui_db> owui_;
  std::shared_ptr<db::database> db_;
};

// ---------------------------------------------------------------------------------------------
// identity_service

class DbRulesIdentity : public DbRules {
 protected:
  std::shared_ptr<auth::authenticator> auth_ =
      std::make_shared<auth::authenticator>("rules-secret", auth::make_memory_revocations());

  identity::identity_service service(std::chrono::milliseconds ttl) {
    identity::identity_options o;
    o.cache_ttl = ttl;
    return identity::identity_service(db_, auth_, o);
  }

  std::variant<identity::caller, auth::auth_failure> authenticate(identity::identity_service& s,
                                                                  const std::string& uid) {
    const auto token = auth_->mint(uid, 3600s);
    return r_.run(s.authenticate(token));
  }
};

TEST_P(DbRulesIdentity, AdminAndUserAuthenticateWithTheirRow) {
  auto s = service(0ms);
  auto admin = authenticate(s, "u_admin");
  ASSERT_TRUE(std::holds_alternative<identity::caller>(admin));
  EXPECT_TRUE(std::get<identity::caller>(admin).is_admin());
  EXPECT_EQ(std::get<identity::caller>(admin).id(), "u_admin");

  auto alice = authenticate(s, "u_alice");
  ASSERT_TRUE(std::holds_alternative<identity::caller>(alice));
  const auto& c = std::get<identity::caller>(alice);
  EXPECT_FALSE(c.is_admin());
  EXPECT_EQ(c.token.id, "u_alice");
  EXPECT_EQ(c.user.email, "alice@example.com");
  EXPECT_EQ(c.user.username, "alice");
  EXPECT_EQ(c.user.name, "Alice");
  EXPECT_EQ(c.user.role, "user");
  EXPECT_EQ(c.user.timezone, "Europe/Paris");
  ASSERT_TRUE(c.user.settings);
  EXPECT_EQ(json::parse(*c.user.settings), json::parse(R"({"ui":{"theme":"dark"}})"));
  ASSERT_TRUE(c.user.info);
  EXPECT_EQ(json::parse(*c.user.info), json::parse(R"({"a":1})"));
  EXPECT_FALSE(c.user.oauth);
  EXPECT_EQ(c.user.last_active_at, t_s + 1);
  EXPECT_EQ(c.user.updated_at, t_s + 2);
  EXPECT_EQ(c.user.created_at, t_s + 3);
}

TEST_P(DbRulesIdentity, PendingMissingIncompleteAndOtherRolesAreNotAuthenticated) {
  auto s = service(0ms);
  for (const char* uid : {"u_pending", "u_missing", "u_noname", "u_noactive", "u_upper", "u_odd", "u_norole"}) {
    auto res = authenticate(s, uid);
    ASSERT_TRUE(std::holds_alternative<auth::auth_failure>(res)) << uid << " authenticated";
    EXPECT_EQ(std::get<auth::auth_failure>(res).type, auth::auth_failure::kind::invalid) << uid;
    auto row = r_.run(s.user(uid));
    ASSERT_TRUE(row) << describe(row.error());
    EXPECT_FALSE(*row) << uid;
  }
  // What the query layer itself reports for them.
  EXPECT_EQ(ok(r_.run(db::load_user(*db_, "u_missing"))).state, db::user_lookup::status::missing);
  EXPECT_EQ(ok(r_.run(db::load_user(*db_, "u_noname"))).state, db::user_lookup::status::incomplete);
  EXPECT_EQ(ok(r_.run(db::load_user(*db_, "u_noactive"))).state, db::user_lookup::status::incomplete);
  EXPECT_EQ(ok(r_.run(db::load_user(*db_, "u_norole"))).state, db::user_lookup::status::incomplete);
  const auto upper = ok(r_.run(db::load_user(*db_, "u_upper")));
  EXPECT_EQ(upper.state, db::user_lookup::status::found);
  EXPECT_EQ(upper.user.role, "ADMIN");
}

TEST_P(DbRulesIdentity, RoleChangeIsSeenAfterTheCacheTtl) {
  auto s = service(200ms);
  auto before = authenticate(s, "u_bob");
  ASSERT_TRUE(std::holds_alternative<identity::caller>(before));
  EXPECT_FALSE(std::get<identity::caller>(before).is_admin());

  exec("UPDATE \"user\" SET role = 'admin' WHERE id = 'u_bob'");
  EXPECT_TRUE(poll_until(deadline_after(10s), [&] {
    auto now = authenticate(s, "u_bob");
    return std::holds_alternative<identity::caller>(now) && std::get<identity::caller>(now).is_admin();
  })) << "the promotion never reached authenticate";

  exec("UPDATE \"user\" SET role = 'pending' WHERE id = 'u_bob'");
  EXPECT_TRUE(poll_until(deadline_after(10s), [&] {
    auto now = authenticate(s, "u_bob");
    return std::holds_alternative<auth::auth_failure>(now) &&
           std::get<auth::auth_failure>(now).type == auth::auth_failure::kind::invalid;
  })) << "the demotion to pending never reached authenticate";
}

TEST_P(DbRulesIdentity, RoleChangeIsNotSeenWithinALongTtl) {
  auto s = service(3600s);
  auto first = authenticate(s, "u_bob");
  ASSERT_TRUE(std::holds_alternative<identity::caller>(first));
  exec("UPDATE \"user\" SET role = 'pending' WHERE id = 'u_bob'");
  // Served from the cache: still the cached row.
  auto cached = authenticate(s, "u_bob");
  ASSERT_TRUE(std::holds_alternative<identity::caller>(cached));
  EXPECT_EQ(std::get<identity::caller>(cached).user.role, "user");
  // forget() drops it; the next load sees the database.
  s.forget("u_bob");
  auto fresh = authenticate(s, "u_bob");
  EXPECT_TRUE(std::holds_alternative<auth::auth_failure>(fresh));
}

TEST_P(DbRulesIdentity, FractionalTimestampsStillAuthenticate) {
  // Rows written by old releases may hold REAL seconds (SQLite keeps them; PostgreSQL rounds).
  exec("UPDATE \"user\" SET last_active_at = 1700000000.5 WHERE id = 'u_carol'");
  auto s = service(0ms);
  auto res = authenticate(s, "u_carol");
  ASSERT_TRUE(std::holds_alternative<identity::caller>(res));
  const auto at = std::get<identity::caller>(res).user.last_active_at;
  EXPECT_TRUE(at == t_s || at == t_s + 1) << at;
}

TEST_P(DbRulesIdentity, LargeProfileImageDoesNotGetInTheWay) {
  const std::string image_sql = GetParam() == db::dialect::sqlite
                                    ? "UPDATE \"user\" SET profile_image_url = printf('%.*c', 5000000, 'x'),"
                                      " variables = '{\"secret\":1}' WHERE id = 'u_alice'"
                                    : "UPDATE \"user\" SET profile_image_url = repeat('x', 5000000),"
                                      " variables = '{\"secret\":1}' WHERE id = 'u_alice'";
  exec(image_sql);
  EXPECT_EQ(int_cell("SELECT length(profile_image_url) FROM \"user\" WHERE id = 'u_alice'"), 5000000);
  auto s = service(0ms);
  auto res = authenticate(s, "u_alice");
  ASSERT_TRUE(std::holds_alternative<identity::caller>(res));
  EXPECT_EQ(std::get<identity::caller>(res).user.name, "Alice");
}

// ---------------------------------------------------------------------------------------------
// permission_service: features.channels

class DbRulesPermissions : public DbRules {};

TEST_P(DbRulesPermissions, FeaturesChannelsFromGroupsOrTheEnvironmentDefault) {
  // One user per group kind; each is a member of that group only.
  const std::map<std::string, bool> truthy{
      {"g_true", true},      {"g_one", true},        {"g_yes", true},       {"g_false", false},
      {"g_missing", false},  {"g_notobj", false},    {"g_zero", false},     {"g_emptystr", false},
      {"g_emptyobj", false}, {"g_nullperm", false},  {"g_jsonnull", false}, {"g_share", false}};
  std::string sql;
  for (const auto& [group, _] : truthy) {
    sql += "INSERT INTO \"user\" (id, email, role, name, last_active_at, updated_at, created_at) VALUES ('f_" +
           group + "', '" + group + "@example.com', 'user', 'x', 1, 1, 1);";
    sql += "INSERT INTO group_member (id, group_id, user_id) VALUES ('gmf_" + group + "', '" + group + "', 'f_" +
           group + "');";
  }
  exec(sql);
  auto with_default_on = perms(true);
  auto with_default_off = perms(false);
  for (const auto& [group, expected] : truthy) {
    const auto u = as_user("f_" + group);
    EXPECT_EQ(ok(r_.run(with_default_off->has_permission(u, "features.channels"))), expected) << group;
    EXPECT_EQ(ok(r_.run(with_default_off->can_use_channels(u))), expected) << group;
    // Any group's falsy value never overrides a true environment default.
    EXPECT_TRUE(ok(r_.run(with_default_on->can_use_channels(u)))) << group;
  }
  // Without any group: the environment default alone.
  const auto carol = as_user("u_carol");
  EXPECT_TRUE(ok(r_.run(with_default_on->can_use_channels(carol))));
  EXPECT_FALSE(ok(r_.run(with_default_off->can_use_channels(carol))));
  // The default covers only features.channels.
  EXPECT_FALSE(ok(r_.run(with_default_on->has_permission(carol, "features.notes"))));
  // One truthy group among falsy ones is enough (OR over groups).
  exec("INSERT INTO group_member (id, group_id, user_id) VALUES ('gmx_1', 'g_true', 'f_g_false')");
  EXPECT_TRUE(ok(r_.run(with_default_off->can_use_channels(as_user("f_g_false")))));
  // Admin always, whatever the groups and the default.
  EXPECT_TRUE(ok(r_.run(with_default_off->can_use_channels(as_user("u_carol", "admin")))));
  // Admin is the exact role string.
  EXPECT_FALSE(ok(r_.run(with_default_off->can_use_channels(as_user("u_carol", "ADMIN")))));
}

TEST_P(DbRulesPermissions, PermissionAtFollowsPythonTruthiness) {
  EXPECT_TRUE(db::permission_at(R"({"features":{"channels":true}})", "features.channels"));
  EXPECT_TRUE(db::permission_at(R"({"features":{"channels":[0]}})", "features.channels"));
  EXPECT_TRUE(db::permission_at(R"({"features":{"channels":{"x":0}}})", "features.channels"));
  EXPECT_TRUE(db::permission_at(R"({"features":{"channels":0.5}})", "features.channels"));
  EXPECT_FALSE(db::permission_at(R"({"features":{"channels":null}})", "features.channels"));
  EXPECT_FALSE(db::permission_at(R"({"features":{"channels":[]}})", "features.channels"));
  EXPECT_FALSE(db::permission_at(R"({"features":{"channels":{}}})", "features.channels"));
  EXPECT_FALSE(db::permission_at(R"({"features":{"channels":0.0}})", "features.channels"));
  EXPECT_FALSE(db::permission_at(R"({"features":[true]})", "features.channels"));
  EXPECT_FALSE(db::permission_at(R"(not json)", "features.channels"));
  EXPECT_FALSE(db::permission_at(std::nullopt, "features.channels"));
}

// ---------------------------------------------------------------------------------------------
// permission_service: notes

TEST_P(DbRulesPermissions, NoteAccessRules) {
  auto p = perms(true, 0ms);
  // Admin: any existing note, any permission; a missing note is refused to admins too (Python
  // loads the note before it looks at the role).
  EXPECT_TRUE(note(*p, "u_admin", "n_plain", "read", "admin"));
  EXPECT_TRUE(note(*p, "u_admin", "n_plain", "write", "admin"));
  EXPECT_FALSE(note(*p, "u_admin", "n_missing", "read", "admin"));
  EXPECT_FALSE(note(*perms(true, 3600s), "u_admin", "n_missing", "write", "admin"));
  // Owner: both.
  EXPECT_TRUE(note(*p, "u_alice", "n_plain", "read"));
  EXPECT_TRUE(note(*p, "u_alice", "n_plain", "write"));
  EXPECT_TRUE(note(*p, "u_bob", "n_bob_owned", "write"));
  EXPECT_FALSE(note(*p, "u_alice", "n_bob_owned", "read"));
  // user:* read: anyone authenticated reads, nobody writes by it.
  EXPECT_TRUE(note(*p, "u_carol", "n_star", "read"));
  EXPECT_FALSE(note(*p, "u_carol", "n_star", "write"));
  // user:<id> read: that user only; read does not give write.
  EXPECT_TRUE(note(*p, "u_bob", "n_bob_read", "read"));
  EXPECT_FALSE(note(*p, "u_bob", "n_bob_read", "write"));
  EXPECT_FALSE(note(*p, "u_carol", "n_bob_read", "read"));
  // group read: members only.
  EXPECT_TRUE(note(*p, "u_bob", "n_group", "read"));
  EXPECT_FALSE(note(*p, "u_bob", "n_group", "write"));
  EXPECT_FALSE(note(*p, "u_carol", "n_group", "read"));
  // A membership row of a group that no longer exists grants nothing (only SQLite, which does not
  // enforce the foreign key, can hold one).
  if (GetParam() == db::dialect::sqlite) {
    exec("INSERT INTO group_member (id, group_id, user_id) VALUES ('gm_ghost', 'g_ghost', 'u_bob')");
    EXPECT_FALSE(note(*p, "u_bob", "n_ghost", "read"));
  }
  // Write only: write, and not read.
  EXPECT_TRUE(note(*p, "u_bob", "n_bob_write", "write"));
  EXPECT_FALSE(note(*p, "u_bob", "n_bob_write", "read"));
  // `anyone` grants are ignored.
  EXPECT_FALSE(note(*p, "u_carol", "n_anyone", "read"));
  // Another user's grant is ignored.
  EXPECT_FALSE(note(*p, "u_bob", "n_carol", "read"));
  EXPECT_TRUE(note(*p, "u_carol", "n_carol", "read"));
  // A grant on another note, or on a channel with the note's id, is ignored.
  EXPECT_FALSE(note(*p, "u_bob", "n_plain", "read"));
  EXPECT_FALSE(note(*p, "u_bob", "n_star", "write"));
  // A missing note: false, not an error.
  EXPECT_FALSE(note(*p, "u_bob", "n_missing", "read"));
  EXPECT_FALSE(note(*p, "u_alice", "n_missing", "write"));
  // The permission string is exact.
  EXPECT_FALSE(note(*p, "u_carol", "n_star", "READ"));
  EXPECT_FALSE(note(*p, "u_carol", "n_star", ""));
  // Becoming a member of a group that holds a grant gives access.
  exec("INSERT INTO group_member (id, group_id, user_id) VALUES ('gmn_1', 'g_share', 'u_carol')");
  EXPECT_TRUE(note(*p, "u_carol", "n_group", "read"));
}

TEST_P(DbRulesPermissions, NoteCacheKeepsAnswersForItsTtlButFreshChecksDoNot) {
  auto cached = perms(true, 3600s);
  const auto bob = as_user("u_bob");
  EXPECT_TRUE(note(*cached, "u_bob", "n_bob_read", "read"));
  exec("DELETE FROM access_grant WHERE id = 'ag_2'");
  // The cache keeps the answer (per user, note and permission) ...
  EXPECT_TRUE(note(*cached, "u_bob", "n_bob_read", "read"));
  // ... a fresh check does not ...
  EXPECT_FALSE(ok(r_.run(cached->can_access_note_fresh(bob, "n_bob_read", "read"))));
  // ... nor does an uncached service, nor another permission on the cached service.
  EXPECT_FALSE(note(*perms(true, 0ms), "u_bob", "n_bob_read", "read"));
  EXPECT_FALSE(note(*cached, "u_bob", "n_bob_read", "write"));

  // A short TTL lets the revocation through within a bounded time.
  auto short_ttl = perms(true, 200ms);
  EXPECT_TRUE(note(*short_ttl, "u_bob", "n_group", "read"));
  exec("DELETE FROM group_member WHERE id = 'gm_1'");
  EXPECT_TRUE(poll_until(deadline_after(10s), [&] { return !note(*short_ttl, "u_bob", "n_group", "read"); }));
}

// ---------------------------------------------------------------------------------------------
// permission_service: channels_to_join

TEST_P(DbRulesPermissions, ChannelsToJoin) {
  auto p = perms(true);
  const std::vector<std::string> bob{"c_dm_active",  "c_empty_owned", "c_group_active", "c_null_owned",
                                     "c_std_group", "c_std_star",    "c_std_user"};
  EXPECT_EQ(join(*p, "u_bob"), bob);
  EXPECT_EQ(ok(r_.run(db::channel_ids(*db_, "u_bob"))), bob);
  const std::vector<std::string> carol{"c_dm_other", "c_std_star"};
  EXPECT_EQ(join(*p, "u_carol"), carol);
  // Alice: active member of one dm, nothing else.
  const std::vector<std::string> alice{"c_dm_active", "c_std_star"};
  EXPECT_EQ(join(*p, "u_alice"), alice);

  // Deactivating bob's group membership drops the channel; reactivating brings it back.
  exec("UPDATE channel_member SET is_active = false WHERE id = 'cm_1'");
  auto without = join(*p, "u_bob");
  EXPECT_EQ(std::count(without.begin(), without.end(), "c_group_active"), 0);
  exec("UPDATE channel_member SET is_active = true WHERE id = 'cm_2'");
  auto reactivated = join(*p, "u_bob");
  EXPECT_EQ(std::count(reactivated.begin(), reactivated.end(), "c_group_inactive"), 1);
}

TEST_P(DbRulesPermissions, NoChannelsWithoutFeaturesChannels) {
  auto off = perms(false);
  EXPECT_TRUE(join(*off, "u_bob").empty());
  EXPECT_TRUE(join(*off, "u_carol").empty());
  // Admin: always, with the same rules (owned standard channels here).
  const std::vector<std::string> admin{"c_std_anyone", "c_std_group", "c_std_member",
                                       "c_std_star",   "c_std_user",  "c_std_write"};
  EXPECT_EQ(join(*off, "u_admin", "admin"), admin);
  // A truthy group restores it.
  exec("INSERT INTO group_member (id, group_id, user_id) VALUES ('gmc_1', 'g_true', 'u_carol')");
  const std::vector<std::string> carol{"c_dm_other", "c_std_star"};
  EXPECT_EQ(join(*off, "u_carol"), carol);
}

// ---------------------------------------------------------------------------------------------
// Writes

class DbRulesWrites : public DbRules {};

TEST_P(DbRulesWrites, UserActiveWritesSecondsAndIsThrottled) {
  auto w = writes();
  clock_window t;
  EXPECT_TRUE(ok(r_.run(w.user_active("u_bob"))));
  t.close();
  const auto v = int_cell("SELECT last_active_at FROM \"user\" WHERE id = 'u_bob'");
  ASSERT_TRUE(v);
  EXPECT_GE(*v, t.s0);
  EXPECT_LE(*v, t.s1);
  EXPECT_FALSE(ok(r_.run(w.user_active("u_missing"))));
  EXPECT_FALSE(ok(r_.run(db::touch_user_active(*db_, "u_missing", t_s))));
  EXPECT_TRUE(ok(r_.run(db::touch_user_active(*db_, "u_carol", 1234))));
  EXPECT_EQ(int_cell("SELECT last_active_at FROM \"user\" WHERE id = 'u_carol'"), 1234);

  // With an interval, a second call within it does not write; another user still does.
  auto throttled = writes(identity::write_mode::all, 3600s);
  EXPECT_TRUE(ok(r_.run(throttled.user_active("u_bob"))));
  exec("UPDATE \"user\" SET last_active_at = 7 WHERE id = 'u_bob'");
  EXPECT_FALSE(ok(r_.run(throttled.user_active("u_bob"))));
  EXPECT_EQ(int_cell("SELECT last_active_at FROM \"user\" WHERE id = 'u_bob'"), 7);
  EXPECT_TRUE(ok(r_.run(throttled.user_active("u_carol"))));
  EXPECT_NE(int_cell("SELECT last_active_at FROM \"user\" WHERE id = 'u_carol'"), 1234);
  // Without an interval every call writes.
  exec("UPDATE \"user\" SET last_active_at = 7 WHERE id = 'u_bob'");
  EXPECT_TRUE(ok(r_.run(w.user_active("u_bob"))));
  EXPECT_NE(int_cell("SELECT last_active_at FROM \"user\" WHERE id = 'u_bob'"), 7);
}

TEST_P(DbRulesWrites, ChannelReadWritesNanosecondsOnTheFirstRowOnly) {
  auto w = writes();
  clock_window t;
  EXPECT_TRUE(ok(r_.run(w.channel_read("c_group_active", "u_bob"))));
  t.close();
  const auto read = int_cell("SELECT last_read_at FROM channel_member WHERE id = 'cm_1'");
  const auto updated = int_cell("SELECT updated_at FROM channel_member WHERE id = 'cm_1'");
  ASSERT_TRUE(read && updated);
  EXPECT_EQ(*read, *updated);
  EXPECT_GE(*read, t.ns0);
  EXPECT_LE(*read, t.ns1);
  EXPECT_EQ(int_cell("SELECT joined_at FROM channel_member WHERE id = 'cm_1'"), t_ns);

  // is_active is not checked.
  EXPECT_TRUE(ok(r_.run(w.channel_read("c_group_inactive", "u_bob"))));
  EXPECT_TRUE(cell("SELECT last_read_at FROM channel_member WHERE id = 'cm_2'").has_value());

  // Two rows for one (channel, user): exactly one is written.
  EXPECT_TRUE(ok(r_.run(db::mark_channel_read(*db_, "c_dup", "u_bob", 42))));
  EXPECT_EQ(int_cell("SELECT count(*) FROM channel_member WHERE channel_id = 'c_dup' AND last_read_at = 42"), 1);
  EXPECT_EQ(int_cell("SELECT count(*) FROM channel_member WHERE channel_id = 'c_dup' AND last_read_at IS NULL"), 1);

  // No membership: false and nothing written.
  const auto before = all_writable_rows();
  EXPECT_FALSE(ok(r_.run(w.channel_read("c_group_active", "u_carol"))));
  EXPECT_FALSE(ok(r_.run(w.channel_read("c_missing", "u_bob"))));
  EXPECT_EQ(all_writable_rows(), before);
  // Another user's row is untouched.
  EXPECT_EQ(int_cell("SELECT last_read_at FROM channel_member WHERE id = 'cm_10'"), 5);
}

TEST_P(DbRulesWrites, ChatReadWritesSecondsAndReportsWhetherItWasUnread) {
  auto w = writes();
  struct expect {
    const char* chat;
    bool was_unread;
  };
  for (const auto& [chat, was_unread] : {expect{"ch_leaf_1", true}, expect{"ch_leaf_2", true},
                                         expect{"ch_leaf_read", false}, expect{"ch_leaf_eq", false}}) {
    clock_window t;
    const auto res = ok(r_.run(db::mark_chat_read(*db_, chat, "u_alice", identity::now_seconds())));
    t.close();
    ASSERT_TRUE(res) << chat;
    EXPECT_EQ(res->was_unread, was_unread) << chat;
    const auto stored = int_cell(std::string("SELECT last_read_at FROM chat WHERE id = '") + chat + "'");
    ASSERT_TRUE(stored) << chat;
    EXPECT_EQ(*stored, res->last_read_at) << chat;
    EXPECT_GE(*stored, t.s0) << chat;
    EXPECT_LE(*stored, t.s1) << chat;
    EXPECT_EQ(int_cell(std::string("SELECT updated_at FROM chat WHERE id = '") + chat + "'"), t_s + 100) << chat;
    // Read now: a second read is not unread.
    const auto again = ok(r_.run(db::mark_chat_read(*db_, chat, "u_alice", identity::now_seconds())));
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->was_unread) << chat;
  }

  // A foreign or missing chat: nullopt and nothing written.
  const auto before = all_writable_rows();
  EXPECT_FALSE(ok(r_.run(db::mark_chat_read(*db_, "ch_bob", "u_alice", identity::now_seconds()))));
  EXPECT_FALSE(ok(r_.run(db::mark_chat_read(*db_, "ch_missing", "u_alice", identity::now_seconds()))));
  EXPECT_FALSE(ok(r_.run(w.chat_read("ch_bob", "u_alice"))));
  EXPECT_FALSE(ok(r_.run(w.chat_read("ch_missing", "u_alice"))));
  EXPECT_EQ(all_writable_rows(), before);
}

TEST_P(DbRulesWrites, FolderUnreadCountsFollowTheParentChain) {
  const std::map<std::string, std::int64_t> expected{
      {"f_cyc_a", 1}, {"f_cyc_b", 1}, {"f_leaf", 2}, {"f_mid", 3}, {"f_root", 4}};
  EXPECT_EQ(ok(r_.run(db::folder_unread_counts(*db_, "u_alice"))), expected);
  // bob: his own folders only (his f_root is a root of its own).
  const std::map<std::string, std::int64_t> bob{{"f_bob", 1}, {"f_root", 1}};
  EXPECT_EQ(ok(r_.run(db::folder_unread_counts(*db_, "u_bob"))), bob);
  // No folders: empty.
  EXPECT_TRUE(ok(r_.run(db::folder_unread_counts(*db_, "u_carol"))).empty());

  // The pending assistant message finishing makes its chat count.
  exec("UPDATE chat_message SET done = true WHERE id = 'm_2'");
  EXPECT_EQ(ok(r_.run(db::folder_unread_counts(*db_, "u_alice"))).at("f_root"), 5);
  // Unarchiving counts too.
  exec("UPDATE chat SET archived = false WHERE id = 'ch_root_archived'");
  EXPECT_EQ(ok(r_.run(db::folder_unread_counts(*db_, "u_alice"))).at("f_root"), 6);
}

TEST_P(DbRulesWrites, ChatReadReplyCarriesCountsOnlyWhenItWasUnread) {
  auto w = writes();
  const auto unread = ok(r_.run(w.chat_read("ch_leaf_1", "u_alice")));
  ASSERT_TRUE(unread);
  ASSERT_TRUE(unread->folder_unread_counts);
  // Counted after the write: ch_leaf_1 no longer counts.
  const std::map<std::string, std::int64_t> after{
      {"f_cyc_a", 1}, {"f_cyc_b", 1}, {"f_leaf", 1}, {"f_mid", 2}, {"f_root", 3}};
  EXPECT_EQ(*unread->folder_unread_counts, after);
  EXPECT_EQ(int_cell("SELECT last_read_at FROM chat WHERE id = 'ch_leaf_1'"), unread->last_read_at);

  const auto read = ok(r_.run(w.chat_read("ch_leaf_read", "u_alice")));
  ASSERT_TRUE(read);
  EXPECT_FALSE(read->folder_unread_counts);
}

TEST_P(DbRulesWrites, CancelReadTimersCancelsExactlyTheMatchingTimers) {
  auto w = writes();
  const auto untouched_sql =
      std::string("SELECT id, meta, updated_at FROM chat WHERE id LIKE 't_%' AND id NOT IN ('t_cancel_1', "
                  "'t_cancel_2') ORDER BY id");
  const auto before = snapshot(untouched_sql);
  ASSERT_EQ(before.size(), 7u);
  clock_window t;
  EXPECT_EQ(ok(r_.run(w.cancel_read_timers("ch_leaf_1", "u_alice"))), 2);
  t.close();
  EXPECT_EQ(snapshot(untouched_sql), before);

  for (const char* id : {"t_cancel_1", "t_cancel_2"}) {
    const auto meta_text = cell(std::string("SELECT meta FROM chat WHERE id = '") + id + "'");
    ASSERT_TRUE(meta_text) << id;
    const auto meta = json::parse(*meta_text);
    ASSERT_TRUE(meta.is_object()) << *meta_text;
    const auto& o = meta.as_object();
    EXPECT_EQ(o.at("status"), "cancelled") << id;
    EXPECT_EQ(o.at("timer_cancelled_by"), "chat.read") << id;
    ASSERT_TRUE(o.at("timer_cancelled_at").is_int64()) << *meta_text;
    EXPECT_GE(o.at("timer_cancelled_at").as_int64(), t.ns0) << id;
    EXPECT_LE(o.at("timer_cancelled_at").as_int64(), t.ns1) << id;
    const auto updated = int_cell(std::string("SELECT updated_at FROM chat WHERE id = '") + id + "'");
    ASSERT_TRUE(updated);
    EXPECT_GE(*updated, t.s0) << id;
    EXPECT_LE(*updated, t.s1) << id;
  }
  // Every other key kept, in order; status stays where it was; the new keys follow.
  const auto first = json::parse(*cell("SELECT meta FROM chat WHERE id = 't_cancel_1'")).as_object();
  std::vector<std::string> keys;
  for (const auto& kv : first) keys.emplace_back(kv.key());
  const std::vector<std::string> order{"internal", "type",    "parent_chat_id",     "status",
                                       "cancel_on", "fire_at", "z",                  "timer_cancelled_at",
                                       "timer_cancelled_by"};
  EXPECT_EQ(keys, order);
  EXPECT_EQ(first.at("z"), json::parse(R"({"nested":[1,2]})"));
  EXPECT_EQ(first.at("fire_at"), 1700000900);
  EXPECT_EQ(first.at("cancel_on"), json::parse(R"(["chat.read","chat.reply"])"));
  const auto second = json::parse(*cell("SELECT meta FROM chat WHERE id = 't_cancel_2'")).as_object();
  keys.clear();
  for (const auto& kv : second) keys.emplace_back(kv.key());
  const std::vector<std::string> order2{"cancel_on", "status", "parent_chat_id", "type", "internal",
                                        "timer_cancelled_at", "timer_cancelled_by"};
  EXPECT_EQ(keys, order2);

  // Cancelled timers are no longer pending: a second read cancels nothing.
  EXPECT_EQ(ok(r_.run(w.cancel_read_timers("ch_leaf_1", "u_alice"))), 0);
  // Another reason matches only the timers that list it and are still pending.
  EXPECT_EQ(ok(r_.run(db::cancel_chat_timers(*db_, "u_alice", "ch_leaf_1", "chat.reply", 5))), 1);
  const auto by_reply = json::parse(*cell("SELECT meta FROM chat WHERE id = 't_no_read'")).as_object();
  EXPECT_EQ(by_reply.at("timer_cancelled_by"), "chat.reply");
  EXPECT_EQ(by_reply.at("timer_cancelled_at"), 5);
  EXPECT_EQ(int_cell("SELECT updated_at FROM chat WHERE id = 't_no_read'"), 0);
}

TEST_P(DbRulesWrites, SaveNoteMergesTopLevelKeysInNanoseconds) {
  auto w = writes();
  const auto alice = as_user("u_alice");
  clock_window t;
  EXPECT_EQ(ok(r_.run(w.save_note(alice, "n_save", R"({"content":{"md":"b"}})"))), db::note_save::saved);
  t.close();
  const auto data = json::parse(*cell("SELECT data FROM note WHERE id = 'n_save'"));
  EXPECT_EQ(data, json::parse(R"({"content":{"md":"b"},"title_hint":"keep","other":{"k":1}})"));
  const auto updated = int_cell("SELECT updated_at FROM note WHERE id = 'n_save'");
  ASSERT_TRUE(updated);
  EXPECT_GE(*updated, t.ns0);
  EXPECT_LE(*updated, t.ns1);
  EXPECT_EQ(int_cell("SELECT created_at FROM note WHERE id = 'n_save'"), t_ns);

  // The same data again: unchanged, updated_at untouched.
  EXPECT_EQ(ok(r_.run(w.save_note(alice, "n_save", R"({"content":{"md":"b"}})"))), db::note_save::unchanged);
  EXPECT_EQ(int_cell("SELECT updated_at FROM note WHERE id = 'n_save'"), updated);
  // A key already stored with the same value: unchanged as well.
  EXPECT_EQ(ok(r_.run(w.save_note(alice, "n_save", R"({"title_hint":"keep"})"))), db::note_save::unchanged);
  // A new key is added beside the others.
  EXPECT_EQ(ok(r_.run(w.save_note(alice, "n_save", R"({"extra":[1]})"))), db::note_save::saved);
  EXPECT_EQ(json::parse(*cell("SELECT data FROM note WHERE id = 'n_save'")),
            json::parse(R"({"content":{"md":"b"},"title_hint":"keep","other":{"k":1},"extra":[1]})"));

  // A NULL data column: the patch becomes the data.
  EXPECT_EQ(ok(r_.run(w.save_note(alice, "n_null", R"({"content":{"md":"n"}})"))), db::note_save::saved);
  EXPECT_EQ(json::parse(*cell("SELECT data FROM note WHERE id = 'n_null'")), json::parse(R"({"content":{"md":"n"}})"));
  EXPECT_GT(*int_cell("SELECT updated_at FROM note WHERE id = 'n_null'"), t_ns);

  // The JSON text null (SQLAlchemy's stored None) is treated as no data as well.
  exec("UPDATE note SET data = 'null' WHERE id = 'n_plain'");
  EXPECT_EQ(ok(r_.run(w.save_note(alice, "n_plain", R"({"content":{"md":"j"}})"))), db::note_save::saved);
  EXPECT_EQ(json::parse(*cell("SELECT data FROM note WHERE id = 'n_plain'")), json::parse(R"({"content":{"md":"j"}})"));

  // A missing note.
  EXPECT_EQ(ok(r_.run(w.save_note(alice, "n_missing", R"({"content":{}})"))), db::note_save::missing);
  EXPECT_EQ(ok(r_.run(w.save_note(as_user("u_admin", "admin"), "n_missing", R"({"content":{}})"))),
            db::note_save::missing);
}

TEST_P(DbRulesWrites, SaveNoteRechecksWritePermissionEveryTime) {
  identity::permission_options po;
  po.note_cache_ttl = 3600s;
  auto p = std::make_shared<identity::permission_service>(db_, po);
  identity::write_service w(db_, p, identity::make_memory_activity_gate(), identity::write_options{});
  const auto bob = as_user("u_bob");
  // bob holds a write grant: saved.
  EXPECT_TRUE(ok(r_.run(p->can_access_note(bob, "n_save", "write"))));
  EXPECT_EQ(ok(r_.run(w.save_note(bob, "n_save", R"({"content":{"md":"bob"}})"))), db::note_save::saved);
  // The grant is deleted: the cache still says yes, the save does not.
  exec("DELETE FROM access_grant WHERE id = 'ag_9'");
  EXPECT_TRUE(ok(r_.run(p->can_access_note(bob, "n_save", "write"))));
  const auto before = snapshot("SELECT data, updated_at FROM note WHERE id = 'n_save'");
  EXPECT_EQ(ok(r_.run(w.save_note(bob, "n_save", R"({"content":{"md":"lost"}})"))), db::note_save::missing);
  EXPECT_EQ(snapshot("SELECT data, updated_at FROM note WHERE id = 'n_save'"), before);
  // A read grant is not enough to save.
  EXPECT_EQ(ok(r_.run(w.save_note(bob, "n_bob_read", R"({"content":{}})"))), db::note_save::missing);
  EXPECT_FALSE(cell("SELECT data FROM note WHERE id = 'n_bob_read'"));
  // A write-only grant is (write does not need read).
  EXPECT_EQ(ok(r_.run(w.save_note(bob, "n_bob_write", R"({"content":{}})"))), db::note_save::saved);
}

TEST_P(DbRulesWrites, WriteModesPresenceAndNone) {
  const auto alice = as_user("u_alice");
  auto presence = writes(identity::write_mode::presence);
  auto before = all_writable_rows();
  EXPECT_FALSE(ok(r_.run(presence.channel_read("c_group_active", "u_bob"))));
  EXPECT_FALSE(ok(r_.run(presence.chat_read("ch_leaf_1", "u_alice"))));
  EXPECT_EQ(ok(r_.run(presence.cancel_read_timers("ch_leaf_1", "u_alice"))), 0);
  EXPECT_NE(ok(r_.run(presence.save_note(alice, "n_save", R"({"content":{"md":"p"}})"))), db::note_save::saved);
  EXPECT_EQ(all_writable_rows(), before);
  EXPECT_TRUE(ok(r_.run(presence.user_active("u_bob"))));
  EXPECT_NE(int_cell("SELECT last_active_at FROM \"user\" WHERE id = 'u_bob'"), t_s);

  auto none = writes(identity::write_mode::none);
  before = all_writable_rows();
  EXPECT_FALSE(ok(r_.run(none.user_active("u_carol"))));
  EXPECT_FALSE(ok(r_.run(none.channel_read("c_group_active", "u_bob"))));
  EXPECT_FALSE(ok(r_.run(none.chat_read("ch_leaf_1", "u_alice"))));
  EXPECT_EQ(ok(r_.run(none.cancel_read_timers("ch_leaf_1", "u_alice"))), 0);
  EXPECT_NE(ok(r_.run(none.save_note(alice, "n_save", R"({"content":{"md":"n"}})"))), db::note_save::saved);
  EXPECT_EQ(all_writable_rows(), before);

  EXPECT_EQ(identity::parse_write_mode("presence"), identity::write_mode::presence);
  EXPECT_EQ(identity::parse_write_mode("none"), identity::write_mode::none);
  EXPECT_EQ(identity::parse_write_mode("all"), identity::write_mode::all);
  EXPECT_FALSE(identity::parse_write_mode("ALL"));
}

// ---------------------------------------------------------------------------------------------
// Schema guard

class DbRulesSchema : public DbRules {};

TEST_P(DbRulesSchema, FixtureDatabasePassesWithAKnownHead) {
  const auto info = ok(r_.run(db::check_schema(*db_)));
  EXPECT_EQ(info.head, db::v0_11_0_head);
  EXPECT_TRUE(info.known);
  EXPECT_FALSE(info.owned);
}

TEST_P(DbRulesSchema, UnknownHeadIsAcceptedAsUnknown) {
  exec("UPDATE alembic_version SET version_num = 'aaaaaaaaaaaa'");
  const auto info = ok(r_.run(db::check_schema(*db_)));
  EXPECT_EQ(info.head, "aaaaaaaaaaaa");
  EXPECT_FALSE(info.known);
}

TEST_P(DbRulesSchema, NoAccessGrantIsTooOld) {
  exec("DROP TABLE access_grant");
  const auto r = r_.run(db::check_schema(*db_));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(db::error::schema_too_old)) << describe(r.error());
}

TEST_P(DbRulesSchema, NoAlembicVersionIsMissing) {
  exec("DROP TABLE alembic_version");
  const auto r = r_.run(db::check_schema(*db_));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(db::error::schema_missing)) << describe(r.error());
}

TEST_P(DbRulesSchema, EveryReadTableIsRequired) {
  for (const char* table : {"folder", "chat_message", "channel_member", "group_member"}) {
    SCOPED_TRACE(table);
    // A fresh database per table, so that only that one is missing.
    openwebui_db fresh(r_, GetParam());
    fresh.exec_script(std::string("DROP TABLE ") + table);
    const auto r = r_.run(db::check_schema(*fresh.database()));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(db::error::schema_missing)) << describe(r.error());
    EXPECT_NE(r.error().detail.find(table), std::string::npos) << r.error().detail;
  }
}

// ---------------------------------------------------------------------------------------------
// Failures are errors, never empty answers

class DbRulesFailures : public DbRules {};

void expect_every_call_fails(io_runner& r, const std::shared_ptr<db::database>& d) {
  auto p = std::make_shared<identity::permission_service>(d, identity::permission_options{});
  identity::write_service w(d, p, identity::make_memory_activity_gate(), identity::write_options{});
  const auto bob = as_user("u_bob");
  const auto alice = as_user("u_alice");
  EXPECT_FALSE(r.run(db::load_user(*d, "u_bob")));
  EXPECT_FALSE(r.run(db::group_permissions(*d, "u_bob")));
  EXPECT_FALSE(r.run(db::channel_ids(*d, "u_bob")));
  EXPECT_FALSE(r.run(db::folder_unread_counts(*d, "u_alice")));
  EXPECT_FALSE(r.run(p->channels_to_join(bob)));
  EXPECT_FALSE(r.run(p->can_use_channels(bob)));
  EXPECT_FALSE(r.run(p->can_access_note(bob, "n_star", "read")));
  EXPECT_FALSE(r.run(w.user_active("u_bob")));
  EXPECT_FALSE(r.run(w.channel_read("c_group_active", "u_bob")));
  EXPECT_FALSE(r.run(w.chat_read("ch_leaf_1", "u_alice")));
  EXPECT_FALSE(r.run(w.cancel_read_timers("ch_leaf_1", "u_alice")));
  EXPECT_FALSE(r.run(w.save_note(alice, "n_save", R"({"content":{}})")));
  EXPECT_FALSE(r.run(db::check_schema(*d)));

  auto authn = std::make_shared<auth::authenticator>("s", auth::make_memory_revocations());
  identity::identity_service ids(d, authn, identity::identity_options{});
  const auto token = authn->mint("u_bob", 3600s);
  auto res = r.run(ids.authenticate(token));
  ASSERT_TRUE(std::holds_alternative<auth::auth_failure>(res));
  EXPECT_EQ(std::get<auth::auth_failure>(res).type, auth::auth_failure::kind::unavailable);
}

TEST_P(DbRulesFailures, StoppedDatabaseFailsEveryCall) {
  // Warm the identity cache path and prepared statements first: a stop must still fail them.
  EXPECT_TRUE(ok(r_.run(db::channel_ids(*db_, "u_bob"))).size() > 0);
  db_->stop();
  expect_every_call_fails(r_, db_);
  const auto r = r_.run(db::load_user(*db_, "u_bob"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(db::error::stopped)) << describe(r.error());
}

TEST_P(DbRulesFailures, MissingTablesAreQueryFailuresNotEmptyResults) {
  exec("DROP TABLE channel_member; DROP TABLE chat_message; DROP TABLE access_grant; DROP TABLE group_member");
  auto p = perms(true, 0ms);
  const auto bob = as_user("u_bob");
  for (const auto& r : {r_.run(db::channel_ids(*db_, "u_bob")), r_.run(p->channels_to_join(as_user("u_bob")))}) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(db::error::query_failed)) << describe(r.error());
  }
  EXPECT_FALSE(r_.run(db::folder_unread_counts(*db_, "u_alice")));
  EXPECT_FALSE(r_.run(p->can_access_note(bob, "n_star", "read")));
  EXPECT_FALSE(r_.run(p->can_use_channels(bob)));
  EXPECT_FALSE(r_.run(db::mark_channel_read(*db_, "c_group_active", "u_bob", 1)));
}

// PostgreSQL only: a server of its own, killed mid-test.
TEST(DbRulesPostgres, KilledServerIsAnErrorNotAnEmptyAnswer) {
  io_runner r;
  postgres_server own;
  openwebui_db victim(r, db::dialect::postgresql, &own);
  victim.exec_script(std::string(users_sql) + groups_sql + notes_sql + channels_sql + chats_sql + timers_sql);
  const auto d = victim.database();
  auto before = r.run(db::channel_ids(*d, "u_bob"));
  ASSERT_TRUE(before) << describe(before.error());
  EXPECT_EQ(before->size(), 7u);
  own.kill9();
  expect_every_call_fails(r, d);
}

std::string backend_name(const ::testing::TestParamInfo<db::dialect>& info) {
  return std::string(db::to_string(info.param));
}

#define OWCORE_BOTH_BACKENDS(suite)                                                                      \
  INSTANTIATE_TEST_SUITE_P(Backends, suite,                                                              \
                           ::testing::Values(db::dialect::sqlite, db::dialect::postgresql), backend_name)

OWCORE_BOTH_BACKENDS(DbRulesIdentity);
OWCORE_BOTH_BACKENDS(DbRulesPermissions);
OWCORE_BOTH_BACKENDS(DbRulesWrites);
OWCORE_BOTH_BACKENDS(DbRulesSchema);
OWCORE_BOTH_BACKENDS(DbRulesFailures);

}  // namespace

}  // namespace db_rules_test
