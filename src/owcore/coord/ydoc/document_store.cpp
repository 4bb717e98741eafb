#include "owcore/coord/ydoc/document_store.hpp"

#include "owcore/base/hex.hpp"
#include "owcore/coord/ydoc/keys.hpp"
#include "owcore/redis/error.hpp"
#include "owcore/yjs/cli_merge.hpp"
#include "owcore/yjs/merge.hpp"
#include "owcore/yjs/update.hpp"

#include <openssl/evp.h>
#include <spdlog/logger.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>

namespace owcore::coord::ydoc {

namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "owcore.ydoc"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::invalid_update: return "not a valid Yjs v1 update";
      case error::update_too_large: return "update exceeds the size limit";
      case error::invalid_argument: return "empty or over-long document id or sid";
      case error::unexpected_reply: return "unexpected reply from the document store";
      case error::merge_failed: return "the document's updates exceed the Yjs codec's limits";
    }
    return "unknown ydoc error";
  }
};

}  // namespace

const boost::system::error_category& ydoc_category() noexcept {
  static const category instance;
  return instance;
}

// ---------------------------------------------------------------------------------------------
// Element codec and merging

std::string format_element(yjs::byte_view update) {
  std::string s;
  s.reserve(update.size() * 4 + 2);
  s += '[';
  for (std::size_t i = 0; i < update.size(); ++i) {
    if (i > 0) s += ',';
    s += std::to_string(update[i]);
  }
  s += ']';
  return s;
}

std::optional<yjs::byte_buffer> parse_element(std::string_view text, const char*& reason) {
  return yjs::parse_byte_array(text, reason);
}

namespace {

using boost::system::error_code;

// "invalid update: byte 17: invalid UTF-8 (ContentString)" (decode_error::message() would name
// an input index that means nothing here).
std::string describe(const yjs::decode_error& e) {
  std::string s = "invalid update: byte " + std::to_string(e.offset) + ": " +
                  yjs::make_error_code(e.code).message();
  if (*e.context != '\0') s += std::string(" (") + e.context + ")";
  return s;
}

// merge_valid with list positions: `index[i]` is where updates[i] sits in the stored list.
result<yjs::byte_buffer> merge_indexed(const std::vector<yjs::byte_buffer>& updates,
                                       const std::vector<std::size_t>& index,
                                       std::vector<invalid_element>* invalid, bool reductions) {
  yjs::merge_options mo;
  mo.squash = reductions;
  mo.strip_deleted = reductions;
  std::vector<yjs::byte_view> views(updates.begin(), updates.end());
  if (auto merged = yjs::merge_updates(views, mo)) return std::move(*merged);
  // Something failed: find the invalid elements one by one (a single extra pass, so a list full
  // of bad elements costs O(n), not O(n^2)), then merge the rest.
  std::vector<yjs::byte_view> good;
  good.reserve(views.size());
  for (std::size_t i = 0; i < views.size(); ++i) {
    if (auto d = yjs::decode_update(views[i], mo.limits); !d) {
      if (invalid) invalid->push_back({index[i], describe(d.error())});
    } else {
      good.push_back(views[i]);
    }
  }
  // Every element is valid on its own: together they exceed the codec's limits.
  if (good.size() == views.size()) return make_error_code(error::merge_failed);
  auto merged = yjs::merge_updates(good, mo);
  if (!merged) return make_error_code(error::merge_failed);
  return std::move(*merged);
}

// Stored elements parsed into bytes; the unparsable ones are listed with their positions.
struct parsed_list {
  std::vector<yjs::byte_buffer> updates;
  std::vector<std::size_t> index;
  std::vector<invalid_element> invalid;
  std::size_t update_bytes = 0;
  std::size_t stored_bytes = 0;
};

parsed_list parse_list(const std::vector<redis::reply>& elements) {
  parsed_list out;
  out.updates.reserve(elements.size());
  out.index.reserve(elements.size());
  for (std::size_t i = 0; i < elements.size(); ++i) {
    out.stored_bytes += elements[i].str.size();
    const char* reason = "";
    auto bytes = parse_element(elements[i].str, reason);
    if (!bytes) {
      out.invalid.push_back({i, std::string("not a JSON array of byte values: ") + reason});
      continue;
    }
    out.update_bytes += bytes->size();
    out.updates.push_back(std::move(*bytes));
    out.index.push_back(i);
  }
  return out;
}

void sort_invalid(std::vector<invalid_element>& v) {
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
}

// result<bool> cannot be built from an error_code implicitly (error_code converts to bool).
result<bool> bool_error(error_code ec) { return result<bool>(boost::system::in_place_error, ec); }

bool valid_id(std::string_view id) { return !id.empty() && id.size() <= max_id_size; }

// Size and codec checks before anything is stored.
error_code check_update(const yjs::byte_buffer& update, const store_options& opts) {
  if (update.size() > opts.max_update_bytes) return make_error_code(error::update_too_large);
  if (!yjs::decode_update(update)) return make_error_code(error::invalid_update);
  return {};
}

std::size_t threshold_of(const store_options& o) {
  return std::max<std::size_t>(o.compaction_threshold, 2);
}

// Keeps one compaction per document per store object in flight.
class compaction_guard {
 public:
  compaction_guard(std::mutex& m, std::set<std::string>& active, std::string doc)
      : m_(m), active_(active), doc_(std::move(doc)) {
    std::lock_guard lock(m_);
    owned_ = active_.insert(doc_).second;
  }
  ~compaction_guard() {
    if (!owned_) return;
    std::lock_guard lock(m_);
    active_.erase(doc_);
  }
  compaction_guard(const compaction_guard&) = delete;
  compaction_guard& operator=(const compaction_guard&) = delete;
  bool owned() const noexcept { return owned_; }

 private:
  std::mutex& m_;
  std::set<std::string>& active_;
  std::string doc_;
  bool owned_ = false;
};

// ---------------------------------------------------------------------------------------------
// Memory backend

class memory_store final : public document_store {
 public:
  explicit memory_store(store_options opts) : opts_(std::move(opts)) {}

  net::awaitable<result<std::size_t>> append(std::string document_id,
                                             yjs::byte_buffer update) override {
    if (!valid_id(document_id)) co_return make_error_code(error::invalid_argument);
    if (auto ec = check_update(update, opts_)) co_return ec;
    const std::string doc = keys::storage_id(document_id);
    std::size_t n = 0;
    {
      std::lock_guard lock(mutex_);
      auto [it, created] = docs_.try_emplace(doc);
      if (created) it->second.epoch = ++next_epoch_;
      it->second.updates.push_back(std::move(update));
      n = it->second.updates.size();
    }
    if (n >= threshold_of(opts_)) {
      auto c = co_await compact(doc);
      if (!c && opts_.log)
        opts_.log->warn("ydoc {}: compaction failed: {}", doc, c.error().message());
    }
    co_return n;
  }

  net::awaitable<result<std::vector<yjs::byte_buffer>>> get_updates(
      std::string document_id) override {
    if (!valid_id(document_id)) co_return make_error_code(error::invalid_argument);
    std::lock_guard lock(mutex_);
    auto it = docs_.find(keys::storage_id(document_id));
    if (it == docs_.end()) co_return std::vector<yjs::byte_buffer>{};
    co_return it->second.updates;
  }

  net::awaitable<result<yjs::byte_buffer>> state(std::string document_id) override {
    if (!valid_id(document_id)) co_return make_error_code(error::invalid_argument);
    std::vector<yjs::byte_buffer> updates;
    {
      std::lock_guard lock(mutex_);
      if (auto it = docs_.find(keys::storage_id(document_id)); it != docs_.end())
        updates = it->second.updates;
    }
    co_return merge_valid(updates);
  }

  net::awaitable<result<bool>> exists(std::string document_id) override {
    if (!valid_id(document_id)) co_return bool_error(make_error_code(error::invalid_argument));
    std::lock_guard lock(mutex_);
    co_return docs_.contains(keys::storage_id(document_id));
  }

  net::awaitable<result<void>> add_user(std::string document_id, std::string sid) override {
    if (!valid_id(document_id) || !valid_id(sid))
      co_return make_error_code(error::invalid_argument);
    const std::string doc = keys::storage_id(document_id);
    std::lock_guard lock(mutex_);
    users_[doc].insert(sid);
    index_[sid].insert(doc);
    co_return result<void>{};
  }

  net::awaitable<result<void>> remove_user(std::string document_id, std::string sid) override {
    if (!valid_id(document_id) || !valid_id(sid))
      co_return make_error_code(error::invalid_argument);
    const std::string doc = keys::storage_id(document_id);
    std::lock_guard lock(mutex_);
    erase_member(users_, doc, sid);
    erase_member(index_, sid, doc);
    co_return result<void>{};
  }

  net::awaitable<result<std::vector<std::string>>> users(std::string document_id) override {
    if (!valid_id(document_id)) co_return make_error_code(error::invalid_argument);
    std::lock_guard lock(mutex_);
    auto it = users_.find(keys::storage_id(document_id));
    if (it == users_.end()) co_return std::vector<std::string>{};
    co_return std::vector<std::string>(it->second.begin(), it->second.end());
  }

  net::awaitable<result<std::vector<std::string>>> remove_user_from_all_documents(
      std::string sid) override {
    if (!valid_id(sid)) co_return make_error_code(error::invalid_argument);
    std::vector<std::string> cleared;
    std::lock_guard lock(mutex_);
    auto idx = index_.find(sid);
    if (idx == index_.end()) co_return cleared;
    for (const auto& doc : idx->second) {
      erase_member(users_, doc, sid);
      if (!users_.contains(doc)) {
        clear_locked(doc);
        cleared.push_back(doc);
      }
    }
    index_.erase(idx);
    co_return cleared;
  }

  net::awaitable<result<void>> clear(std::string document_id) override {
    if (!valid_id(document_id)) co_return make_error_code(error::invalid_argument);
    std::lock_guard lock(mutex_);
    clear_locked(keys::storage_id(document_id));
    co_return result<void>{};
  }

  net::awaitable<result<compaction_report>> compact(std::string document_id) override {
    if (!valid_id(document_id)) co_return make_error_code(error::invalid_argument);
    const std::string doc = keys::storage_id(document_id);
    compaction_report rep;
    compaction_guard guard(mutex_, compacting_, doc);
    if (!guard.owned()) co_return rep;
    std::vector<yjs::byte_buffer> prefix;
    std::uint64_t epoch = 0;
    std::size_t observed = 0;
    {
      std::lock_guard lock(mutex_);
      auto it = docs_.find(doc);
      if (it == docs_.end()) co_return rep;
      observed = it->second.updates.size();
      const std::size_t k = observed / 2;
      if (k < 2) co_return rep;
      prefix.assign(it->second.updates.begin(),
                    it->second.updates.begin() + static_cast<std::ptrdiff_t>(k));
      epoch = it->second.epoch;
    }
    rep.merged = prefix.size();
    // Merge outside the lock; appends only add at the end and leave the epoch alone, so an
    // unchanged epoch means the prefix is still exactly what was merged.
    std::vector<invalid_element> invalid;
    auto snapshot = merge_valid(prefix, &invalid, opts_.compact_reductions);
    if (!snapshot) co_return snapshot.error();
    rep.snapshot_bytes = snapshot->size();
    rep.rejected = invalid.size();
    std::lock_guard lock(mutex_);
    auto it = docs_.find(doc);
    if (it == docs_.end() || it->second.epoch != epoch || it->second.updates.size() < prefix.size())
      co_return rep;
    auto& u = it->second.updates;
    rep.appended_meanwhile = u.size() - observed;
    u.erase(u.begin() + 1, u.begin() + static_cast<std::ptrdiff_t>(prefix.size()));
    u.front() = std::move(*snapshot);
    it->second.epoch = ++next_epoch_;
    rep.replaced = true;
    if (opts_.log)
      opts_.log->info(
          "ydoc {}: compacted the oldest {} of {} updates into one of {} bytes; {} appended "
          "meanwhile, kept",
          doc, prefix.size(), observed, rep.snapshot_bytes, rep.appended_meanwhile);
    co_return rep;
  }

  net::awaitable<result<document_report>> inspect(std::string document_id) override {
    if (!valid_id(document_id)) co_return make_error_code(error::invalid_argument);
    document_report rep;
    rep.storage_id = keys::storage_id(document_id);
    std::vector<yjs::byte_buffer> updates;
    {
      std::lock_guard lock(mutex_);
      if (auto it = docs_.find(rep.storage_id); it != docs_.end()) {
        rep.exists = true;
        updates = it->second.updates;
      }
      if (auto it = users_.find(rep.storage_id); it != users_.end())
        rep.users.assign(it->second.begin(), it->second.end());
    }
    rep.elements = updates.size();
    for (const auto& u : updates) {
      rep.update_bytes += u.size();
      rep.stored_bytes += format_element(u).size();
    }
    auto merged = merge_valid(updates, &rep.invalid);
    if (merged) rep.state_bytes = merged->size();
    co_return rep;
  }

 private:
  struct doc_entry {
    std::vector<yjs::byte_buffer> updates;
    std::uint64_t epoch = 0;  ///< changes on creation and on every compaction
  };

  static void erase_member(std::map<std::string, std::set<std::string>>& m, const std::string& k,
                           const std::string& v) {
    auto it = m.find(k);
    if (it == m.end()) return;
    it->second.erase(v);
    if (it->second.empty()) m.erase(it);
  }

  void clear_locked(const std::string& doc) {
    docs_.erase(doc);
    users_.erase(doc);
  }

  store_options opts_;
  std::mutex mutex_;  ///< guards everything below; never held across a suspension
  std::map<std::string, doc_entry> docs_;
  std::map<std::string, std::set<std::string>> users_;
  std::map<std::string, std::set<std::string>> index_;
  std::set<std::string> compacting_;
  std::uint64_t next_epoch_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Redis backend

// Replaces the first k elements by the snapshot, but only when the list still starts with the k
// elements the caller merged: their digest (SHA-1 over "<byte length>:<element>" for each, so
// the concatenation is unambiguous) must match. One key, one script: atomic on every topology,
// and a resend after a dropped connection is a no-op (the list no longer starts with them).
// KEYS[1] = updates list; ARGV = k, expected digest (hex), snapshot element. Returns the new
// length (>= 1) when replaced, 0 when not.
constexpr std::string_view compact_script = R"lua(
local k = tonumber(ARGV[1])
local cur = redis.call('LRANGE', KEYS[1], 0, k - 1)
if #cur ~= k then return 0 end
local parts = {}
for i = 1, k do
  parts[2 * i - 1] = #cur[i] .. ':'
  parts[2 * i] = cur[i]
end
if redis.sha1hex(table.concat(parts)) ~= ARGV[2] then return 0 end
redis.call('LTRIM', KEYS[1], k, -1)
return redis.call('LPUSH', KEYS[1], ARGV[3])
)lua";

std::string prefix_digest(const std::vector<redis::reply>& elements) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr) == 1;
  for (const auto& e : elements) {
    const std::string head = std::to_string(e.str.size()) + ":";
    ok = ok && EVP_DigestUpdate(ctx, head.data(), head.size()) == 1 &&
         EVP_DigestUpdate(ctx, e.str.data(), e.str.size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx, md.data(), &len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return {};  // never matches: the compaction is skipped
  return base::hex_encode(std::string_view(reinterpret_cast<const char*>(md.data()), len));
}

class redis_store final : public document_store {
 public:
  redis_store(redis_backend rb, store_options opts) : rb_(std::move(rb)), opts_(std::move(opts)) {}

  net::awaitable<result<std::size_t>> append(std::string document_id,
                                             yjs::byte_buffer update) override {
    if (!valid_id(document_id)) co_return make_error_code(error::invalid_argument);
    if (auto ec = check_update(update, opts_)) co_return ec;
    const std::string doc = keys::storage_id(document_id);
    redis::request req;
    req.push("RPUSH", redis::key(keys::updates(rb_.prefix, doc)), format_element(update))
        .idempotent();
    auto [ec, r] = co_await exec(std::move(req));
    if (ec) co_return ec;
    if (r.type != redis::reply::kind::integer || r.integer < 1)
      co_return make_error_code(error::unexpected_reply);
    const auto n = static_cast<std::size_t>(r.integer);
    if (n >= threshold_of(opts_)) {
      auto c = co_await compact_list(doc, n);
      if (!c && opts_.log)
        opts_.log->warn("ydoc {}: compaction failed: {}", doc, c.error().message());
    }
    co_return n;
  }

  net::awaitable<result<std::vector<yjs::byte_buffer>>> get_updates(
      std::string document_id) override {
    if (!valid_id(document_id)) co_return make_error_code(error::invalid_argument);
    const std::string doc = keys::storage_id(document_id);
    auto elements = co_await read_list(doc);
    if (!elements) co_return elements.error();
    auto parsed = parse_list(*elements);
    warn_invalid(doc, parsed.invalid);
    co_return std::move(parsed.updates);
  }

  net::awaitable<result<yjs::byte_buffer>> state(std::string document_id) override {
    if (!valid_id(document_id)) co_return make_error_code(error::invalid_argument);
    const std::string doc = keys::storage_id(document_id);
    auto elements = co_await read_list(doc);
    if (!elements) co_return elements.error();
    auto parsed = parse_list(*elements);
    auto merged = merge_indexed(parsed.updates, parsed.index, &parsed.invalid, false);
    sort_invalid(parsed.invalid);
    warn_invalid(doc, parsed.invalid);
    co_return merged;
  }

  net::awaitable<result<bool>> exists(std::string document_id) override {
    if (!valid_id(document_id)) co_return bool_error(make_error_code(error::invalid_argument));
    redis::request req;
    req.push("EXISTS", redis::key(keys::updates(rb_.prefix, document_id))).idempotent();
    auto r = co_await integer_of(std::move(req));
    if (!r) co_return bool_error(r.error());
    co_return *r > 0;
  }

  net::awaitable<result<void>> add_user(std::string document_id, std::string sid) override {
    if (!valid_id(document_id) || !valid_id(sid))
      co_return make_error_code(error::invalid_argument);
    const std::string doc = keys::storage_id(document_id);
    redis::request users_req;
    users_req.push("SADD", redis::key(keys::users(rb_.prefix, doc)), sid).idempotent();
    if (auto r = co_await integer_of(std::move(users_req)); !r) co_return r.error();
    redis::request index_req;
    index_req.push("SADD", redis::key(keys::session_documents(rb_.prefix, sid)), doc).idempotent();
    if (auto r = co_await integer_of(std::move(index_req)); !r) co_return r.error();
    co_return result<void>{};
  }

  net::awaitable<result<void>> remove_user(std::string document_id, std::string sid) override {
    if (!valid_id(document_id) || !valid_id(sid))
      co_return make_error_code(error::invalid_argument);
    const std::string doc = keys::storage_id(document_id);
    redis::request users_req;
    users_req.push("SREM", redis::key(keys::users(rb_.prefix, doc)), sid).idempotent();
    if (auto r = co_await integer_of(std::move(users_req)); !r) co_return r.error();
    redis::request index_req;
    index_req.push("SREM", redis::key(keys::session_documents(rb_.prefix, sid)), doc).idempotent();
    if (auto r = co_await integer_of(std::move(index_req)); !r) co_return r.error();
    co_return result<void>{};
  }

  net::awaitable<result<std::vector<std::string>>> users(std::string document_id) override {
    if (!valid_id(document_id)) co_return make_error_code(error::invalid_argument);
    co_return co_await members(keys::users(rb_.prefix, document_id));
  }

  net::awaitable<result<std::vector<std::string>>> remove_user_from_all_documents(
      std::string sid) override {
    if (!valid_id(sid)) co_return make_error_code(error::invalid_argument);
    const std::string index_key = keys::session_documents(rb_.prefix, sid);
    auto docs = co_await members(index_key);
    if (!docs) co_return docs.error();
    std::vector<std::string> cleared;
    for (const auto& doc : *docs) {
      if (!valid_id(doc)) continue;
      // SREM and SCARD on the one users key: one round trip, same slot.
      redis::request req;
      req.push("SREM", redis::key(keys::users(rb_.prefix, doc)), sid)
          .push("SCARD", redis::key(keys::users(rb_.prefix, doc)))
          .idempotent();
      auto [ec, rs] = co_await rb_.client->exec(std::move(req));
      if (ec) co_return ec;
      if (rs.size() != 2 || rs[0].is_error() || rs[1].is_error())
        co_return make_error_code(redis::error::server_error);
      if (rs[1].integer != 0) continue;
      if (auto c = co_await clear(doc); !c) co_return c.error();
      cleared.push_back(doc);
    }
    redis::request del;
    del.push("DEL", redis::key(index_key)).idempotent();
    if (auto r = co_await integer_of(std::move(del)); !r) co_return r.error();
    co_return cleared;
  }

  net::awaitable<result<void>> clear(std::string document_id) override {
    if (!valid_id(document_id)) co_return make_error_code(error::invalid_argument);
    // Python's order: the updates, then the presence set. Different slots: two requests.
    redis::request updates_req;
    updates_req.push("DEL", redis::key(keys::updates(rb_.prefix, document_id))).idempotent();
    if (auto r = co_await integer_of(std::move(updates_req)); !r) co_return r.error();
    redis::request users_req;
    users_req.push("DEL", redis::key(keys::users(rb_.prefix, document_id))).idempotent();
    if (auto r = co_await integer_of(std::move(users_req)); !r) co_return r.error();
    co_return result<void>{};
  }

  net::awaitable<result<compaction_report>> compact(std::string document_id) override {
    if (!valid_id(document_id)) co_return make_error_code(error::invalid_argument);
    const std::string doc = keys::storage_id(document_id);
    redis::request req;
    req.push("LLEN", redis::key(keys::updates(rb_.prefix, doc))).idempotent();
    auto n = co_await integer_of(std::move(req));
    if (!n) co_return n.error();
    co_return co_await compact_list(doc, static_cast<std::size_t>(std::max<std::int64_t>(*n, 0)));
  }

  net::awaitable<result<document_report>> inspect(std::string document_id) override {
    if (!valid_id(document_id)) co_return make_error_code(error::invalid_argument);
    document_report rep;
    rep.storage_id = keys::storage_id(document_id);
    auto elements = co_await read_list(rep.storage_id);
    if (!elements) co_return elements.error();
    auto users = co_await members(keys::users(rb_.prefix, rep.storage_id));
    if (!users) co_return users.error();
    redis::request req;
    req.push("LLEN", redis::key(keys::rejected(rb_.prefix, rep.storage_id))).idempotent();
    auto rejected = co_await integer_of(std::move(req));
    if (!rejected) co_return rejected.error();

    auto parsed = parse_list(*elements);
    rep.exists = !elements->empty();
    rep.elements = elements->size();
    rep.update_bytes = parsed.update_bytes;
    rep.stored_bytes = parsed.stored_bytes;
    rep.users = std::move(*users);
    rep.rejected = static_cast<std::size_t>(std::max<std::int64_t>(*rejected, 0));
    auto merged = merge_indexed(parsed.updates, parsed.index, &parsed.invalid, false);
    if (merged) rep.state_bytes = merged->size();
    sort_invalid(parsed.invalid);
    rep.invalid = std::move(parsed.invalid);
    co_return rep;
  }

 private:
  // One request; a Redis error reply becomes server_error (logged).
  net::awaitable<std::pair<error_code, redis::reply>> exec(redis::request req) {
    auto [ec, r] = co_await rb_.client->exec_one(std::move(req));
    if (!ec && r.is_error()) {
      if (opts_.log) opts_.log->warn("ydoc: Redis error reply: {}", r.str);
      ec = make_error_code(redis::error::server_error);
    }
    co_return std::pair<error_code, redis::reply>(ec, std::move(r));
  }

  net::awaitable<result<std::int64_t>> integer_of(redis::request req) {
    auto [ec, r] = co_await exec(std::move(req));
    if (ec) co_return ec;
    if (r.type != redis::reply::kind::integer) co_return make_error_code(error::unexpected_reply);
    co_return r.integer;
  }

  net::awaitable<result<std::vector<std::string>>> members(std::string key) {
    redis::request req;
    req.push("SMEMBERS", redis::key(key)).idempotent();
    auto [ec, r] = co_await exec(std::move(req));
    if (ec) co_return ec;
    if (r.type != redis::reply::kind::array) co_return make_error_code(error::unexpected_reply);
    std::vector<std::string> out;
    out.reserve(r.elements.size());
    for (auto& e : r.elements) out.push_back(std::move(e.str));
    std::sort(out.begin(), out.end());
    co_return out;
  }

  // LRANGE start..stop of the document's list (one reply, so one consistent snapshot).
  net::awaitable<result<std::vector<redis::reply>>> read_list(std::string doc,
                                                              std::int64_t start = 0,
                                                              std::int64_t stop = -1) {
    redis::request req;
    req.push("LRANGE", redis::key(keys::updates(rb_.prefix, doc)), start, stop).idempotent();
    auto [ec, r] = co_await exec(std::move(req));
    if (ec) co_return ec;
    if (r.type != redis::reply::kind::array) co_return make_error_code(error::unexpected_reply);
    for (const auto& e : r.elements)
      if (e.type != redis::reply::kind::string) co_return make_error_code(error::unexpected_reply);
    co_return std::move(r.elements);
  }

  // The compaction of a list of (about) n elements; see document_store::compact.
  net::awaitable<result<compaction_report>> compact_list(std::string doc, std::size_t n) {
    compaction_report rep;
    const std::size_t k = n / 2;
    if (k < 2) co_return rep;
    compaction_guard guard(mutex_, compacting_, doc);
    if (!guard.owned()) co_return rep;
    auto elements = co_await read_list(doc, 0, static_cast<std::int64_t>(k) - 1);
    if (!elements) co_return elements.error();
    if (elements->size() != k) co_return rep;  // compacted or cleared meanwhile
    rep.merged = k;

    auto parsed = parse_list(*elements);
    auto snapshot =
        merge_indexed(parsed.updates, parsed.index, &parsed.invalid, opts_.compact_reductions);
    if (!snapshot) co_return snapshot.error();
    rep.snapshot_bytes = snapshot->size();
    rep.rejected = parsed.invalid.size();
    if (!parsed.invalid.empty()) {
      sort_invalid(parsed.invalid);
      warn_invalid(doc, parsed.invalid);
      // Keep the rejects for operators before they leave the list. Done first: if the script
      // then loses a race, the side list merely holds copies of elements still in the list.
      const std::string side = keys::rejected(rb_.prefix, doc);
      redis::request req;
      redis::command push;
      push.args = {"RPUSH", side};
      push.key_indexes = {1};
      for (const auto& bad : parsed.invalid) push.args.push_back((*elements)[bad.index].str);
      req.push(std::move(push));
      req.push("LTRIM", redis::key(side),
               -static_cast<std::int64_t>(std::max<std::size_t>(opts_.rejected_keep, 1)), -1)
          .push("EXPIRE", redis::key(side), static_cast<std::int64_t>(opts_.rejected_ttl.count()))
          .idempotent();
      auto [ec, rs] = co_await rb_.client->exec(std::move(req));
      if (ec) co_return ec;
      for (const auto& r : rs)
        if (r.is_error()) co_return make_error_code(redis::error::server_error);
    }

    const std::vector<std::string> script_keys{keys::updates(rb_.prefix, doc)};
    const std::vector<std::string> script_args{std::to_string(k), prefix_digest(*elements),
                                               format_element(*snapshot)};
    redis::request script;
    script.eval(compact_script, script_keys, script_args).idempotent();
    auto r = co_await integer_of(std::move(script));
    if (!r) co_return r.error();
    rep.replaced = *r > 0;
    if (rep.replaced) {
      // Before the script the list held (new length - 1 + k) elements; the trigger saw n.
      const auto before = static_cast<std::size_t>(*r) - 1 + k;
      rep.appended_meanwhile = before > n ? before - n : 0;
    }
    if (opts_.log) {
      if (rep.replaced)
        opts_.log->info(
            "ydoc {}: compacted the oldest {} of {} updates into one of {} bytes; {} appended "
            "meanwhile, "
            "kept{}",
            doc, k, n, rep.snapshot_bytes, rep.appended_meanwhile,
            rep.rejected ? "; " + std::to_string(rep.rejected) + " invalid moved aside"
                         : std::string());
      else opts_.log->debug("ydoc {}: compaction skipped: the list changed meanwhile", doc);
    }
    co_return rep;
  }

  void warn_invalid(const std::string& doc, const std::vector<invalid_element>& invalid) {
    if (!opts_.log) return;
    for (const auto& e : invalid)
      opts_.log->warn("ydoc {}: skipping stored update #{}: {}", doc, e.index, e.reason);
  }

  redis_backend rb_;
  store_options opts_;
  std::mutex mutex_;                  ///< guards compacting_
  std::set<std::string> compacting_;  ///< documents this object is compacting
};

}  // namespace

result<yjs::byte_buffer> merge_valid(const std::vector<yjs::byte_buffer>& updates,
                                     std::vector<invalid_element>* invalid, bool reductions) {
  std::vector<std::size_t> index(updates.size());
  for (std::size_t i = 0; i < index.size(); ++i) index[i] = i;
  return merge_indexed(updates, index, invalid, reductions);
}

std::shared_ptr<document_store> make_memory_document_store(store_options opts) {
  return std::make_shared<memory_store>(std::move(opts));
}

std::shared_ptr<document_store> make_redis_document_store(redis_backend backend,
                                                          store_options opts) {
  return std::make_shared<redis_store>(std::move(backend), std::move(opts));
}

}  // namespace owcore::coord::ydoc
