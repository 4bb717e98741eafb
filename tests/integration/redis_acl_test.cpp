// Restricted credentials (docs/redis.md, "Restricted credentials"), on every topology: an ACL user
// with exactly protocol/acl.hpp's rule (keys and channels of the prefix, socketio, socketio#*, the
// listed commands) created on every data node; then owcore works as that user, with no NOPERM
// anywhere: the shared dicts, locks and HTTP session store in-process; two `owcore serve`
// instances creating and stopping a task across instances (client exec path, scripts, the stop
// channel's subscriber, the Socket.IO subscriber); and `owcore doctor`. On Sentinel the sentinels
// have a restricted user too (acl::sentinel_rule), and a failover happens between two task
// rounds. A user missing +eval and &socketio makes the doctor name both and exit 2.
#include "owcore/coord/auth/authenticator.hpp"
#include "owcore/coord/backend.hpp"
#include "owcore/coord/sessions/session_store.hpp"
#include "owcore/coord/shared/lock.hpp"
#include "owcore/coord/shared/shared_dict.hpp"
#include "owcore/redis/client.hpp"
#include "owcore/redis/protocol/acl.hpp"
#include "support/http_client.hpp"
#include "support/io_runner.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/redis_topology.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>
#include <thread>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace redis_acl_test {

using namespace owcore::test;
using namespace std::chrono_literals;
namespace auth = owcore::coord::auth;
namespace shared = owcore::coord::shared;
namespace redis = owcore::redis;
namespace json = boost::json;

namespace {

const std::string secret = "acl-test-secret";
const std::string prefix = "aclp";
const std::string user = "owcore";
const std::string password = "acl-pw";

// Creates (or replaces) the restricted user on `node` with `rule`.
void create_user(redis_server& node, const std::vector<std::string>& rule) {
  std::vector<std::string> args{"ACL", "SETUSER", user, "reset", "on", ">" + password};
  args.insert(args.end(), rule.begin(), rule.end());
  const auto r = node.command(args);
  if (r.type == reply::kind::error) throw std::runtime_error("ACL SETUSER: " + r.str);
}

std::vector<std::string> full_rule() { return redis::acl::rule(prefix); }

// "redis://127.0.0.1:PORT/0" -> "redis://owcore:acl-pw@127.0.0.1:PORT/0"
std::string as_user(const std::string& url) {
  return "redis://" + user + ":" + password + "@" + url.substr(std::string("redis://").size());
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct doctor_run {
  int exit_code = -1;
  std::string out;
};

// `owcore doctor --json` with exactly `env`; the doctor bounds every step itself.
doctor_run run_doctor(const temp_dir& dir, const std::vector<std::string>& env) {
  const auto out = dir.path() / "doctor.json";
  std::string cmd = "env -i PATH=/usr/bin:/bin DATA_DIR=" + (dir.path() / "doctor").string() +
                    " REDIS_KEY_PREFIX=" + prefix;
  for (const auto& e : env) cmd += " '" + e + "'";
  cmd += std::string(" ") + OWCORE_BINARY + " doctor --json >" + out.string() + " 2>/dev/null";
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out)};
}

std::string admin_token() {
  auth::authenticator a(secret, auth::make_memory_revocations());
  return a.mint("admin-1", std::chrono::hours(1));
}

std::string shared_database(const temp_dir& dir) {
  const auto data = dir.path() / "shared";
  const auto file = data / "owcore.db";
  if (!std::filesystem::exists(file)) {
    const std::string cmd = "env -i PATH=/usr/bin:/bin WEBUI_SECRET_KEY=" + secret +
                            " DATA_DIR=" + data.string() + " " + OWCORE_BINARY +
                            " user add --name admin-1 --email admin-1@example.org --role admin "
                            "--id admin-1 >/dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("owcore user add failed");
  }
  return "DATABASE_URL=sqlite:///" + file.string();
}

// One `owcore serve` as the restricted user, with the Socket.IO state in Redis too.
struct instance {
  int port = free_port();
  std::optional<process> proc;
  instance(const temp_dir& dir, const std::string& name, const std::vector<std::string>& env) {
    std::vector<std::string> argv{"env",
                                  "-i",
                                  "PATH=/usr/bin:/bin",
                                  "WEBUI_SECRET_KEY=" + secret,
                                  "PORT=" + std::to_string(port),
                                  "DATA_DIR=" + (dir.path() / name).string(),
                                  "REDIS_KEY_PREFIX=" + prefix,
                                  "WEBSOCKET_MANAGER=redis",
                                  shared_database(dir)};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.push_back(OWCORE_BINARY);
    argv.push_back("serve");
    proc.emplace(std::move(argv), dir.path() / (name + ".log"));
    if (!wait_for_http(port, "/health", 15s))
      throw std::runtime_error("owcore did not start:\n" + proc->log_tail());
  }
  http_response call(const std::string& method, const std::string& path,
                     const std::string& body = "") {
    http_connection c(port);
    std::string req = method + " " + path +
                      " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer " +
                      admin_token() + "\r\n";
    if (!body.empty())
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n";
    c.send(req + "\r\n" + body);
    return c.read_response(10s);
  }
};

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  return poll_until(deadline_after(limit), pred);
}

// Shared dicts and locks in-process, through a client that logs in as the restricted user.
void exercise_shared(redis::client_options o) {
  io_runner io(std::chrono::seconds(30));
  o.connect_timeout = 2s;
  o.reply_timeout = 5s;
  o.queue_timeout = 20s;
  auto client = redis::make_client(io.io.get_executor(), o);
  client->start();
  const owcore::coord::redis_backend backend{client, prefix};
  auto dict = shared::make_redis_shared_dict(backend, "session_pool", {});
  auto set = io.run(dict->set("sid-1", json::parse(R"({"id":"u1"})")));
  EXPECT_TRUE(set.has_value()) << (set ? "" : set.error().message());
  auto got = io.run(dict->get("sid-1"));
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_TRUE(got->has_value());
  auto keys = io.run(dict->keys());
  ASSERT_TRUE(keys.has_value()) << keys.error().message();
  EXPECT_EQ(keys->size(), 1u);
  auto page = io.run(dict->scan("0", 10));
  EXPECT_TRUE(page.has_value()) << page.error().message();
  auto beat = io.run(dict->heartbeat("sid-1", 100));
  EXPECT_TRUE(beat.has_value()) << beat.error().message();
  auto erased = io.run(dict->erase("sid-1"));
  EXPECT_TRUE(erased.has_value() && *erased);
  auto lock = shared::make_redis_lock(backend, "session_cleanup_lock", 5s);
  auto acquired = io.run(lock->acquire());
  ASSERT_TRUE(acquired.has_value()) << acquired.error().message();
  EXPECT_TRUE(*acquired);
  auto renewed = io.run(lock->renew());
  EXPECT_TRUE(renewed.has_value() && *renewed);
  auto released = io.run(lock->release());
  EXPECT_TRUE(released.has_value() && *released);

  // HTTP sessions (P:session:<id>): every store operation, including the compare-and-set scripts.
  namespace sessions = owcore::coord::sessions;
  auto store = sessions::make_redis_session_store(backend);
  const auto sid = sessions::session_id::generate();
  auto made = io.run(store->create(sid, R"({"a":1})"));
  EXPECT_TRUE(made.has_value() && *made) << (made ? "" : made.error().message());
  auto read = io.run(store->read(sid));
  ASSERT_TRUE(read.has_value()) << read.error().message();
  EXPECT_EQ(read->value_or(""), R"({"a":1})");
  auto replaced = io.run(store->replace(sid, R"({"a":1})", R"({"a":2})"));
  EXPECT_TRUE(replaced.has_value() && *replaced == sessions::cas_result::applied)
      << (replaced ? "" : replaced.error().message());
  auto removed = io.run(store->remove_if(sid, R"({"a":2})"));
  EXPECT_TRUE(removed.has_value() && *removed == sessions::cas_result::applied)
      << (removed ? "" : removed.error().message());
  auto gone = io.run(store->remove(sid));
  EXPECT_TRUE(gone.has_value()) << (gone ? "" : gone.error().message());
  client->stop();
}

// A task created on A (retried while a failover settles), listed and stopped from B, cancelled
// on A.
void task_round(instance& a, instance& b, const std::string& item) {
  http_response created;
  ASSERT_TRUE(eventually(
      [&] {
        created = a.call("POST", "/api/owcore/tasks", R"({"kind":"sleep","seconds":60,"item_id":")" + item + "\"}");
        return created.status == 200;
      },
      30s))
      << created.status << " " << created.body << a.proc->log_tail();
  const std::string id(json::parse(created.body).as_object().at("task_id").as_string());
  http_response listed;
  ASSERT_TRUE(eventually(
      [&] {
        listed = b.call("GET", "/api/tasks");
        return listed.status == 200 && listed.body.find(id) != std::string::npos;
      },
      10s))
      << listed.body;
  auto stopped = b.call("POST", "/api/tasks/stop/" + id);
  ASSERT_EQ(stopped.status, 200) << stopped.body << b.proc->log_tail();
  EXPECT_TRUE(eventually(
      [&] {
        return a.proc->log_tail(64 * 1024).find("task " + id + ": cancelling") != std::string::npos;
      },
      10s))
      << a.proc->log_tail();
  EXPECT_TRUE(eventually(
      [&] { return b.call("GET", "/api/tasks").body.find(id) == std::string::npos; }, 10s));
}

// Two instances: a task round, then `fault` (a failover, say) and a second round on the same
// instances; then the doctor; no NOPERM in any log or report.
void exercise_serve(const temp_dir& dir, const std::vector<std::string>& env,
                    const std::function<void()>& fault = {}) {
  instance a(dir, "a", env);
  instance b(dir, "b", env);
  task_round(a, b, "chat-acl");
  if (fault) {
    fault();
    task_round(a, b, "chat-acl-after");
  }
  for (auto* i : {&a, &b}) {
    const auto log = i->proc->log_tail(256 * 1024);
    EXPECT_EQ(log.find("NOPERM"), std::string::npos) << log;
  }

  // After a failover the demoted master resyncs for a moment, which the doctor rightly calls
  // degraded (exit 1): wait for it.
  doctor_run doc;
  EXPECT_TRUE(eventually(
      [&] {
        doc = run_doctor(dir, env);
        return doc.exit_code == 0;
      },
      fault ? 30s : 0s))
      << doc.out;
  EXPECT_EQ(doc.out.find("NOPERM"), std::string::npos) << doc.out;
}

}  // namespace

TEST(RedisAcl, RestrictedUserWorksOnStandalone) {
  standalone_topology topo;
  create_user(topo.server(), full_rule());
  temp_dir dir("owcore-acl-");
  const auto url = as_user(topo.url());
  redis::client_options o;
  o.node = std::get<redis::url_config>(redis::parse_url(url));
  exercise_shared(o);
  exercise_serve(dir, {"REDIS_URL=" + url});
}

TEST(RedisAcl, RestrictedUserWorksOnSentinel) {
  sentinel_topology topo;
  for (auto* n : topo.nodes()) create_user(*n, full_rule());
  temp_dir dir("owcore-acl-");
  const auto url = "redis://" + user + ":" + password + "@" + topo.service_name() + "/0";
  redis::client_options o;
  o.topo = redis::topology::sentinel;
  o.node = std::get<redis::url_config>(redis::parse_url(url));
  o.service_name = topo.service_name();
  for (const auto& s : topo.sentinels()) o.sentinels.push_back(*redis::address::parse(s));
  exercise_shared(o);
  // The sentinels get a restricted user of their own (acl::sentinel_rule), and the data nodes'
  // user must keep working across a failover: the promoted replica has the same rule.
  for (auto* s : topo.sentinel_servers()) create_user(*s, redis::acl::sentinel_rule());
  const auto port = std::to_string(topo.sentinel_ports().at(0));
  exercise_serve(
      dir,
      {"REDIS_URL=" + url, "REDIS_SENTINEL_HOSTS=127.0.0.1", "REDIS_SENTINEL_PORT=" + port,
       "WEBSOCKET_SENTINEL_HOSTS=127.0.0.1", "WEBSOCKET_SENTINEL_PORT=" + port,
       "REDIS_SENTINEL_USERNAME=" + user, "REDIS_SENTINEL_PASSWORD=" + password},
      [&] { topo.failover(); });
}

TEST(RedisAcl, RestrictedUserWorksOnCluster) {
  cluster_topology topo;
  for (auto* n : topo.nodes()) create_user(*n, full_rule());
  temp_dir dir("owcore-acl-");
  const auto url = as_user(topo.seed_url());
  redis::client_options o;
  o.topo = redis::topology::cluster;
  o.node = std::get<redis::url_config>(redis::parse_url(url));
  exercise_shared(o);
  exercise_serve(dir, {"REDIS_URL=" + url, "REDIS_CLUSTER=true"});
}

TEST(RedisAcl, DoctorNamesTheMissingPermissions) {
  standalone_topology topo;
  auto rule = full_rule();
  std::erase(rule, "+eval");
  std::erase(rule, "&socketio");
  create_user(topo.server(), rule);
  temp_dir dir("owcore-acl-");
  auto doc = run_doctor(dir, {"REDIS_URL=" + as_user(topo.url())});
  EXPECT_EQ(doc.exit_code, 2) << doc.out;
  boost::system::error_code ec;
  auto v = json::parse(doc.out, ec);
  ASSERT_FALSE(ec) << doc.out;
  const auto& app = v.as_object().at("app").as_object();
  EXPECT_EQ(app.at("status"), "misconfigured") << doc.out;
  std::string problems;
  for (const auto& p : app.at("problems").as_array()) problems += std::string(p.as_string()) + "\n";
  EXPECT_NE(problems.find("may not run 'eval'"), std::string::npos) << problems;
  EXPECT_NE(problems.find("add +eval (ACL SETUSER owcore +eval)"), std::string::npos) << problems;
  EXPECT_NE(problems.find("may not publish on socketio on"), std::string::npos) << problems;
  EXPECT_NE(problems.find("add &socketio (ACL SETUSER owcore &socketio)"), std::string::npos)
      << problems;
  // The room channels stay allowed: nothing else is reported.
  EXPECT_EQ(problems.find("socketio#"), std::string::npos) << problems;
  std::string notes;
  for (const auto& n : app.at("notes").as_array()) notes += std::string(n.as_string()) + "\n";
  EXPECT_NE(notes.find("ACL SETUSER owcore on >PASSWORD resetkeys resetchannels -@all ~aclp:*"),
            std::string::npos)
      << notes;
}

}  // namespace redis_acl_test
