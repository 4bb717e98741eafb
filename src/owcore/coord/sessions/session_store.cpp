#include "owcore/coord/sessions/session_store.hpp"

#include "owcore/coord/sessions/error.hpp"
#include "owcore/coord/sessions/keys.hpp"
#include "owcore/redis/error.hpp"

#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

namespace owcore::coord::sessions {
namespace {

using boost::system::result;
using steady = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Memory

class memory_store final : public session_store {
 public:
  explicit memory_store(memory_store_options o) : opts_(std::move(o)) {
    if (!opts_.clock) opts_.clock = [] { return steady::now(); };
    if (opts_.max_sessions == 0) opts_.max_sessions = 1;
  }

  net::awaitable<result<std::optional<std::string>>> read(session_id id) override {
    std::lock_guard lock(m_);
    auto* e = live(id.str());
    if (e == nullptr) co_return std::optional<std::string>{};
    touch(id.str(), *e);
    co_return std::optional<std::string>{e->value};
  }

  net::awaitable<result<bool>> create(session_id id, std::string value) override {
    std::lock_guard lock(m_);
    if (live(id.str()) != nullptr) co_return false;
    make_room();
    auto& e = entries_[id.str()];
    e.value = std::move(value);
    e.expires = opts_.clock() + opts_.ttl;
    by_expiry_.emplace(e.expires, id.str());
    co_return true;
  }

  net::awaitable<result<cas_result>> replace(session_id id, std::string expected,
                                             std::string value) override {
    std::lock_guard lock(m_);
    auto* e = live(id.str());
    if (e == nullptr) co_return cas_result::gone;
    if (e->value != expected) co_return cas_result::changed;
    e->value = std::move(value);
    touch(id.str(), *e);
    co_return cas_result::applied;
  }

  net::awaitable<result<cas_result>> remove_if(session_id id, std::string expected) override {
    std::lock_guard lock(m_);
    auto* e = live(id.str());
    if (e == nullptr) co_return cas_result::gone;
    if (e->value != expected) co_return cas_result::changed;
    erase(id.str());
    co_return cas_result::applied;
  }

  net::awaitable<result<void>> remove(session_id id) override {
    std::lock_guard lock(m_);
    if (entries_.contains(id.str())) erase(id.str());
    co_return result<void>{};
  }

 private:
  struct entry {
    std::string value;
    steady::time_point expires;
  };

  // The entry if present and unexpired; an expired one is dropped on the way.
  entry* live(const std::string& id) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return nullptr;
    if (it->second.expires <= opts_.clock()) {
      erase(id);
      return nullptr;
    }
    return &it->second;
  }

  void touch(const std::string& id, entry& e) {
    by_expiry_.erase({e.expires, id});
    e.expires = opts_.clock() + opts_.ttl;
    by_expiry_.emplace(e.expires, id);
  }

  void erase(const std::string& id) {
    auto it = entries_.find(id);
    by_expiry_.erase({it->second.expires, id});
    entries_.erase(it);
  }

  void make_room() {
    const auto now = opts_.clock();
    while (!by_expiry_.empty() && by_expiry_.begin()->first <= now)
      erase(std::string(by_expiry_.begin()->second));
    while (entries_.size() >= opts_.max_sessions)
      erase(std::string(by_expiry_.begin()->second));
  }

  memory_store_options opts_;
  std::mutex m_;
  std::map<std::string, entry, std::less<>> entries_;
  std::set<std::pair<steady::time_point, std::string>> by_expiry_;
};

// ---------------------------------------------------------------------------------------------
// Redis

// Read and refresh the TTL in one step (GETEX needs Redis 6.2; this runs on any version).
constexpr std::string_view read_script = R"lua(
local v = redis.call('GET', KEYS[1])
if v then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return v
)lua";

// 1 = written, 0 = key gone, -1 = value changed.
constexpr std::string_view replace_script = R"lua(
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
if v ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
)lua";

constexpr std::string_view remove_if_script = R"lua(
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
if v ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
return 1
)lua";

class redis_store final : public session_store {
 public:
  redis_store(redis_backend b, std::chrono::seconds ttl)
      : backend_(std::move(b)), ttl_(std::to_string(std::max<std::int64_t>(1, ttl.count()))) {}

  net::awaitable<result<std::optional<std::string>>> read(session_id id) override {
    std::vector<std::string> keys{key(id)};
    std::vector<std::string> args{ttl_};
    redis::request req;
    req.eval(read_script, keys, args).idempotent();
    auto [ec, r] = co_await backend_.client->exec_one(std::move(req));
    if (ec) co_return ec;
    if (r.is_nil()) co_return std::optional<std::string>{};
    if (r.type != redis::reply::kind::string) co_return failure(r);
    co_return std::optional<std::string>{std::move(r.str)};
  }

  net::awaitable<result<bool>> create(session_id id, std::string value) override {
    redis::request req;
    req.push("SET", redis::key(key(id)), value, "NX", "EX", ttl_);
    auto [ec, r] = co_await backend_.client->exec_one(std::move(req));
    // result<bool> cannot take an error_code implicitly (error_code converts to bool).
    if (ec) co_return result<bool>(boost::system::in_place_error, ec);
    if (r.is_status("OK")) co_return true;
    if (r.is_nil()) co_return false;
    co_return result<bool>(boost::system::in_place_error, failure(r));
  }

  net::awaitable<result<cas_result>> replace(session_id id, std::string expected,
                                             std::string value) override {
    std::vector<std::string> keys{key(id)};
    std::vector<std::string> args{std::move(expected), std::move(value), ttl_};
    co_return co_await cas(replace_script, std::move(keys), std::move(args));
  }

  net::awaitable<result<cas_result>> remove_if(session_id id, std::string expected) override {
    std::vector<std::string> keys{key(id)};
    std::vector<std::string> args{std::move(expected)};
    co_return co_await cas(remove_if_script, std::move(keys), std::move(args));
  }

  net::awaitable<result<void>> remove(session_id id) override {
    redis::request req;
    req.push("DEL", redis::key(key(id))).idempotent();
    auto [ec, r] = co_await backend_.client->exec_one(std::move(req));
    if (ec) co_return ec;
    if (r.type != redis::reply::kind::integer) co_return failure(r);
    co_return result<void>{};
  }

 private:
  std::string key(const session_id& id) const { return keys::session(backend_.prefix, id); }

  static boost::system::error_code failure(const redis::reply& r) {
    return r.is_error() ? redis::reply_error(r.str)
                        : make_error_code(error::unexpected_reply);
  }

  // Not idempotent as a request: if the reply is lost after the write, a re-send would report
  // `changed` for our own write. The caller gets unknown_outcome instead and decides.
  net::awaitable<result<cas_result>> cas(std::string_view script, std::vector<std::string> keys,
                                         std::vector<std::string> args) {
    redis::request req;
    req.eval(script, keys, args);
    auto [ec, r] = co_await backend_.client->exec_one(std::move(req));
    if (ec) co_return ec;
    if (r.type != redis::reply::kind::integer) co_return failure(r);
    if (r.integer == 1) co_return cas_result::applied;
    if (r.integer == 0) co_return cas_result::gone;
    co_return cas_result::changed;
  }

  redis_backend backend_;
  std::string ttl_;
};

}  // namespace

std::shared_ptr<session_store> make_memory_session_store(memory_store_options options) {
  return std::make_shared<memory_store>(std::move(options));
}

std::shared_ptr<session_store> make_redis_session_store(redis_backend backend,
                                                        std::chrono::seconds ttl) {
  return std::make_shared<redis_store>(std::move(backend), ttl);
}

}  // namespace owcore::coord::sessions
