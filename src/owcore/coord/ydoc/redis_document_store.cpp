// The Redis backend of document_store.hpp: Open WebUI's update lists and user sets, and the
// compaction that replaces a merged prefix atomically (docs/wire.md, "Yjs documents").
#include "owcore/coord/ydoc/document_store.hpp"

#include "owcore/coord/metrics.hpp"
#include "owcore/coord/ydoc/store_common.hpp"
#include "owcore/yjs/merge.hpp"
#include "owcore/yjs/update.hpp"
#include "owcore/base/hex.hpp"
#include "owcore/coord/ydoc/keys.hpp"
#include "owcore/redis/error.hpp"

#include <openssl/evp.h>
#include <spdlog/logger.h>

#include <array>
#include <mutex>
#include <set>

namespace owcore::coord::ydoc {
namespace {

using boost::system::error_code;
using namespace detail;

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
    coord::metrics().ydoc.appends.inc();
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
    redis::request persist_req;
    persist_req.push("PERSIST", redis::key(keys::updates(rb_.prefix, doc))).idempotent();
    if (auto r = co_await integer_of(std::move(persist_req)); !r) co_return r.error();
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
      std::string sid, std::chrono::milliseconds keep_empty_for) override {
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
      if (keep_empty_for.count() > 0) {
        // The users key is gone with its last member; only the updates are left to expire.
        redis::request expire;
        expire.push("PEXPIRE", redis::key(keys::updates(rb_.prefix, doc)), std::to_string(keep_empty_for.count()))
            .idempotent();
        if (auto r = co_await integer_of(std::move(expire)); !r) co_return r.error();
      } else if (auto c = co_await clear(doc); !c) {
        co_return c.error();
      }
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
      ec = redis::reply_error(r.str);
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
        if (r.is_error()) co_return redis::reply_error(r.str);
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
      coord::metrics().ydoc.compactions.inc();
      coord::metrics().ydoc.compacted_rejected.inc(rep.rejected);
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

std::shared_ptr<document_store> make_redis_document_store(redis_backend backend,
                                                          store_options opts) {
  return std::make_shared<redis_store>(std::move(backend), std::move(opts));
}

}  // namespace owcore::coord::ydoc
