#include "owcore/coord/identity/db_writes.hpp"

#include "owcore/coord/identity/keys.hpp"

namespace owcore::coord::identity {
namespace {

class memory_gate final : public activity_gate {
 public:
  net::awaitable<std::optional<bool>> acquire(const std::string& user_id, std::chrono::milliseconds interval) override {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    if (until_.size() > 100000) std::erase_if(until_, [&](const auto& kv) { return kv.second <= now; });
    auto& t = until_[user_id];
    if (t > now) co_return false;
    t = now + interval;
    co_return true;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> until_;
};

class redis_gate final : public activity_gate {
 public:
  explicit redis_gate(redis_backend b) : b_(std::move(b)) {}
  net::awaitable<std::optional<bool>> acquire(const std::string& user_id, std::chrono::milliseconds interval) override {
    auto [ec, r] = co_await b_.client->exec_one(
        redis::request()
            .push("SET", redis::key(keys::user_active(b_.prefix, user_id)), "1", "NX", "PX", interval.count())
            .idempotent());
    if (ec || r.is_error()) co_return std::nullopt;
    co_return !r.is_nil();
  }

 private:
  redis_backend b_;
};

}  // namespace

std::optional<write_mode> parse_write_mode(std::string_view text) noexcept {
  if (text == "all") return write_mode::all;
  if (text == "presence") return write_mode::presence;
  if (text == "none") return write_mode::none;
  return std::nullopt;
}

std::string_view to_string(write_mode m) noexcept {
  switch (m) {
    case write_mode::all: return "all";
    case write_mode::presence: return "presence";
    case write_mode::none: return "none";
  }
  return "all";
}

std::shared_ptr<activity_gate> make_memory_activity_gate() { return std::make_shared<memory_gate>(); }
std::shared_ptr<activity_gate> make_redis_activity_gate(redis_backend backend) {
  return std::make_shared<redis_gate>(std::move(backend));
}

std::int64_t now_seconds() noexcept {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
std::int64_t now_nanoseconds() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

write_service::write_service(std::shared_ptr<db::database> db, std::shared_ptr<permission_service> perms,
                             std::shared_ptr<activity_gate> gate, write_options opts)
    : db_(std::move(db)), perms_(std::move(perms)), gate_(std::move(gate)), opts_(opts) {}

net::awaitable<db::result<bool>> write_service::user_active(const std::string& user_id) {
  if (opts_.mode == write_mode::none) co_return false;
  if (opts_.active_interval.count() > 0) {
    auto go = co_await gate_->acquire(user_id, opts_.active_interval);
    if (go && !*go) co_return false;
  }
  co_return co_await db::touch_user_active(*db_, user_id, now_seconds());
}

net::awaitable<db::result<bool>> write_service::channel_read(const std::string& channel_id,
                                                             const std::string& user_id) {
  if (opts_.mode != write_mode::all) co_return false;
  co_return co_await db::mark_channel_read(*db_, channel_id, user_id, now_nanoseconds());
}

net::awaitable<db::result<std::optional<chat_read_reply>>> write_service::chat_read(const std::string& chat_id,
                                                                                   const std::string& user_id) {
  if (opts_.mode != write_mode::all) co_return std::optional<chat_read_reply>{};
  auto read = co_await db::mark_chat_read(*db_, chat_id, user_id, now_seconds());
  if (!read) co_return read.error();
  if (!*read) co_return std::optional<chat_read_reply>{};
  chat_read_reply reply;
  reply.last_read_at = (*read)->last_read_at;
  if ((*read)->was_unread) {
    auto counts = co_await db::folder_unread_counts(*db_, user_id);
    if (!counts) co_return counts.error();
    reply.folder_unread_counts = std::move(*counts);
  }
  co_return std::optional<chat_read_reply>(std::move(reply));
}

net::awaitable<db::result<int>> write_service::cancel_read_timers(const std::string& chat_id,
                                                                 const std::string& user_id) {
  if (opts_.mode != write_mode::all) co_return 0;
  co_return co_await db::cancel_chat_timers(*db_, user_id, chat_id, "chat.read", now_nanoseconds());
}

net::awaitable<db::result<db::note_save>> write_service::save_note(const db::user_row& u, const std::string& note_id,
                                                                   const std::string& data_json) {
  if (opts_.mode != write_mode::all) co_return db::note_save::unchanged;
  auto allowed = co_await perms_->can_access_note_fresh(u, note_id, "write");
  if (!allowed) co_return allowed.error();
  if (!*allowed) co_return db::note_save::missing;
  co_return co_await db::save_note_data(*db_, note_id, data_json, now_nanoseconds());
}

}  // namespace owcore::coord::identity
