#include "owcore/coord/sessions/session_service.hpp"

#include "owcore/coord/sessions/error.hpp"
#include "owcore/coord/sessions/session_data.hpp"
#include "owcore/coord/sessions/signed_cookie.hpp"

#include <stdexcept>
#include <utility>

namespace owcore::coord::sessions {

namespace json = boost::json;
using boost::system::result;

net::awaitable<result<session_state>> session_service::patch(std::optional<std::string> cookie,
                                                             json::object patch,
                                                             std::vector<std::string> reserved) {
  for (const auto& [k, v] : patch) {
    if (k == metadata_key) co_return make_error_code(error::reserved_key);
    for (const auto& prefix : reserved)
      if (!prefix.empty() && std::string_view(k).starts_with(prefix))
        co_return make_error_code(error::reserved_key);
  }
  // A named mutator: g++ 12 mishandles a capturing lambda temporary inside co_await.
  session_mutator merge = [p = std::make_shared<const json::object>(std::move(patch))](
                              json::object& data) { merge_patch(data, *p); };
  co_return co_await update(std::move(cookie), std::move(merge));
}

namespace {

session_state empty_state(bool presented) {
  session_state s;
  if (presented) s.cookie.action = cookie_action::clear;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Server side

class server_service final : public session_service {
 public:
  server_service(std::shared_ptr<session_store> store, server_session_options o)
      : store_(std::move(store)), opts_(std::move(o)) {
    if (!opts_.clock) opts_.clock = unix_time_now;
    if (opts_.max_attempts < 1) opts_.max_attempts = 1;
  }

  session_mode mode() const noexcept override { return session_mode::server_side; }

  net::awaitable<result<session_state>> get(std::optional<std::string> cookie) override {
    auto found = co_await load_cookie(cookie);
    if (!found) co_return found.error();
    if (!*found) co_return empty_state(cookie.has_value());
    session_state s;
    s.data = std::move((*found)->stored.data);
    co_return s;
  }

  net::awaitable<result<session_state>> update(std::optional<std::string> cookie,
                                               session_mutator mutate) override {
    auto found = co_await load_cookie(cookie);
    if (!found) co_return found.error();
    if (!*found) {
      json::object data;
      mutate(data);
      co_return co_await create_fresh(cookie.has_value(), std::move(data));
    }

    loaded cur = std::move(**found);
    for (int attempt = 1;; ++attempt) {
      json::object data = cur.stored.data;
      mutate(data);
      if (data.contains(metadata_key)) co_return make_error_code(error::reserved_key);
      if (data == cur.stored.data) {
        session_state s;
        s.data = std::move(data);
        co_return s;  // nothing to write; the read refreshed the TTL
      }
      result<cas_result> r = cas_result::applied;
      if (data.empty()) {
        r = co_await store_->remove_if(cur.id, cur.raw);
      } else {
        auto value = encode(data, cur.stored.metadata);
        if (value.size() > opts_.max_value_bytes) co_return make_error_code(error::too_large);
        r = co_await store_->replace(cur.id, cur.raw, std::move(value));
      }
      if (!r) co_return r.error();
      if (*r == cas_result::applied) {
        if (data.empty()) co_return empty_state(true);
        session_state s;
        s.data = std::move(data);
        co_return s;
      }
      if (*r == cas_result::gone) co_return make_error_code(error::deleted);
      if (attempt >= opts_.max_attempts) co_return make_error_code(error::contention);
      auto again = co_await load_id(cur.id);
      if (!again) co_return again.error();
      if (!*again) co_return make_error_code(error::deleted);
      cur = std::move(**again);
    }
  }

  net::awaitable<result<session_state>> clear(std::optional<std::string> cookie) override {
    if (!cookie) co_return session_state{};
    if (auto id = session_id::parse(*cookie)) {
      auto r = co_await store_->remove(*id);
      if (!r) co_return r.error();
    }
    co_return empty_state(true);
  }

  net::awaitable<result<session_state>> rotate(std::optional<std::string> cookie) override {
    auto found = co_await load_cookie(cookie);
    if (!found) co_return found.error();
    if (!*found) co_return empty_state(cookie.has_value());
    loaded cur = std::move(**found);

    std::optional<session_id> fresh;
    std::string written;
    for (int attempt = 1;; ++attempt) {
      if (cur.stored.data.empty()) {
        // Nothing worth a new id; an empty session is not kept (as in starsessions).
        if (fresh) co_await store_->remove(*fresh);
        auto r = co_await store_->remove_if(cur.id, cur.raw);
        if (!r) co_return r.error();
        co_return empty_state(true);
      }
      auto value = encode(cur.stored.data, cur.stored.metadata);
      if (!fresh) {
        auto made = co_await create_with_fresh_id(value);
        if (!made) co_return made.error();
        fresh = std::move(*made);
      } else {
        // Nobody else knows the new id yet, so this only fails if it was guessed.
        auto r = co_await store_->replace(*fresh, written, value);
        if (!r) co_return r.error();
        if (*r != cas_result::applied) co_return make_error_code(error::deleted);
      }
      written = std::move(value);

      auto r = co_await store_->remove_if(cur.id, cur.raw);
      if (!r) {
        co_await store_->remove(*fresh);
        co_return r.error();
      }
      if (*r == cas_result::applied) {
        session_state s;
        s.data = std::move(cur.stored.data);
        s.cookie = {cookie_action::set, fresh->str()};
        co_return s;
      }
      if (*r == cas_result::gone || attempt >= opts_.max_attempts) {
        // A delete (logout) raced the rotation: it wins, so the copy goes too.
        co_await store_->remove(*fresh);
        co_return make_error_code(*r == cas_result::gone ? error::deleted : error::contention);
      }
      auto again = co_await load_id(cur.id);
      if (!again || !*again) {
        co_await store_->remove(*fresh);
        if (!again) co_return again.error();
        co_return make_error_code(error::deleted);
      }
      cur = std::move(**again);
    }
  }

 private:
  struct loaded {
    session_id id;
    std::string raw;         // the value as read: the compare-and-set token
    stored_session stored;
  };

  // The session named by the cookie, nullopt when there is none we can adopt.
  net::awaitable<result<std::optional<loaded>>> load_cookie(std::optional<std::string> cookie) {
    if (!cookie) co_return std::optional<loaded>{};
    auto id = session_id::parse(*cookie);  // validated before any store access
    if (!id) co_return std::optional<loaded>{};
    co_return co_await load_id(std::move(*id));
  }

  net::awaitable<result<std::optional<loaded>>> load_id(session_id id) {
    auto raw = co_await store_->read(id);
    if (!raw) co_return raw.error();
    if (!*raw) co_return std::optional<loaded>{};
    auto decoded = decode_stored_session(**raw, opts_.clock());
    if (!decoded) co_return std::optional<loaded>{};  // unreadable: never adopted, left alone
    co_return std::optional<loaded>{loaded{std::move(id), std::move(**raw), std::move(*decoded)}};
  }

  std::string encode(const json::object& data, session_metadata meta) const {
    meta.last_access = opts_.clock();
    return encode_stored_session(data, meta);
  }

  net::awaitable<result<session_id>> create_with_fresh_id(std::string value) {
    for (int attempt = 0; attempt < opts_.max_attempts; ++attempt) {
      auto id = session_id::generate();
      auto made = co_await store_->create(id, value);
      if (!made) co_return made.error();
      if (*made) co_return id;
    }
    co_return make_error_code(error::contention);  // 128-bit collisions: a broken CSPRNG
  }

  net::awaitable<result<session_state>> create_fresh(bool presented, json::object data) {
    if (data.contains(metadata_key)) co_return make_error_code(error::reserved_key);
    if (data.empty()) co_return empty_state(presented);
    const double now = opts_.clock();
    auto value = encode_stored_session(data, {0, now, now});
    if (value.size() > opts_.max_value_bytes) co_return make_error_code(error::too_large);
    auto id = co_await create_with_fresh_id(std::move(value));
    if (!id) co_return id.error();
    session_state s;
    s.data = std::move(data);
    s.cookie = {cookie_action::set, id->str()};
    co_return s;
  }

  std::shared_ptr<session_store> store_;
  server_session_options opts_;
};

// ---------------------------------------------------------------------------------------------
// Signed cookie

constexpr std::size_t max_presented_cookie = 8192;

class cookie_service final : public session_service {
 public:
  explicit cookie_service(signed_cookie_options o)
      : signer_(o.secret_key), opts_(std::move(o)) {
    if (!opts_.clock) opts_.clock = [] { return static_cast<std::int64_t>(unix_time_now()); };
    // The signer holds the derived key; the raw secret is not needed any more.
    opts_.secret_key.clear();
  }

  session_mode mode() const noexcept override { return session_mode::signed_cookie; }

  net::awaitable<result<session_state>> get(std::optional<std::string> cookie) override {
    co_return resign(cookie);
  }

  net::awaitable<result<session_state>> update(std::optional<std::string> cookie,
                                               session_mutator mutate) override {
    const auto now = opts_.clock();
    json::object data = decode(cookie, now).value_or(json::object());
    mutate(data);
    if (data.contains(metadata_key)) co_return make_error_code(error::reserved_key);
    if (data.empty()) co_return empty_state(cookie.has_value());
    auto value = encode_session_cookie(signer_, data, now);
    if (value.size() > opts_.max_cookie_bytes) co_return make_error_code(error::too_large);
    session_state s;
    s.data = std::move(data);
    s.cookie = {cookie_action::set, std::move(value)};
    co_return s;
  }

  net::awaitable<result<session_state>> clear(std::optional<std::string> cookie) override {
    co_return empty_state(cookie.has_value());
  }

  net::awaitable<result<session_state>> rotate(std::optional<std::string> cookie) override {
    co_return resign(cookie);  // no id to change: a fresh signature is all there is
  }

 private:
  std::optional<json::object> decode(const std::optional<std::string>& cookie, std::int64_t now) const {
    if (!cookie || cookie->size() > max_presented_cookie) return std::nullopt;
    auto r = decode_session_cookie(signer_, *cookie, now, opts_.max_age.count());
    if (!r) return std::nullopt;
    return std::move(*r);
  }

  // Starlette's behaviour on every response: a non-empty session is signed again (sliding
  // expiry); a presented cookie that is invalid or empty is cleared.
  session_state resign(const std::optional<std::string>& cookie) const {
    const auto now = opts_.clock();
    auto data = decode(cookie, now);
    if (!data || data->empty()) return empty_state(cookie.has_value());
    session_state s;
    s.cookie = {cookie_action::set, encode_session_cookie(signer_, *data, now)};
    s.data = std::move(*data);
    return s;
  }

  timestamp_signer signer_;
  signed_cookie_options opts_;
};

}  // namespace

std::shared_ptr<session_service> make_server_session_service(std::shared_ptr<session_store> store,
                                                             server_session_options options) {
  return std::make_shared<server_service>(std::move(store), std::move(options));
}

std::shared_ptr<session_service> make_signed_cookie_session_service(signed_cookie_options options) {
  if (options.secret_key.empty())
    throw std::invalid_argument("signed session cookies need a non-empty WEBUI_SECRET_KEY");
  return std::make_shared<cookie_service>(std::move(options));
}

}  // namespace owcore::coord::sessions
