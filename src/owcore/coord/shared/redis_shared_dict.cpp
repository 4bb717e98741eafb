#include "owcore/coord/shared/shared_dict.hpp"

#include "owcore/base/uuid.hpp"
#include "owcore/coord/shared/dict_errors.hpp"
#include "owcore/coord/shared/keys.hpp"
#include "owcore/coord/shared/lock.hpp"
#include "owcore/coord/shared/redis_shared_dict_scripts.hpp"
#include "owcore/redis/protocol/cluster_slots.hpp"
#include "owcore/redis/error.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_set>

// The Redis backend of shared_dict.hpp: Open WebUI's hashes, the Lua scripts that keep them
// consistent on every topology, and the signature key (docs/wire.md, "Redis keys").

namespace owcore::coord::shared {

namespace json = boost::json;
using boost::system::error_code;

namespace {

using detail::bad_value;
using detail::fail;
using detail::unexpected;

using namespace scripts;

// One command as a request, built outside any co_await expression: g++ 12 may destroy
// temporaries of a co_await full-expression twice.
template <class... Args>
redis::request command(bool idempotent, std::string_view name, Args&&... args) {
  redis::request req;
  req.push(name, std::forward<Args>(args)...).idempotent(idempotent);
  return req;
}

class redis_dict final : public shared_dict {
 public:
  redis_dict(std::shared_ptr<redis::client> client, std::string key, shared_dict_options opts)
      : client_(std::move(client)), key_(std::move(key)), opts_(opts) {
    if (opts_.chunk_fields == 0) opts_.chunk_fields = 1;
    if (opts_.signature) {
      sig_key_ = key_ + std::string(keys::signature_suffix);
      // "<prefix>:models" and "<prefix>:models:signature" carry no hash tag (Python's names), so
      // on a Cluster they usually hash to different slots (14474 and 6038 for the default
      // prefix) and no script or MULTI may span them.
      one_slot_ = client_->topo() != redis::topology::cluster ||
                  redis::key_slot(key_) == redis::key_slot(sig_key_);
    }
  }

  const std::string& name() const noexcept override { return key_; }

  net::awaitable<result<std::optional<json::value>>> get(std::string field) override {
    auto req = command(true, "HGET", redis::key(key_), field);
    auto r = co_await run(std::move(req));
    if (!r) co_return fail(r.error());
    if (r->is_nil()) co_return std::optional<json::value>{};
    if (r->type != redis::reply::kind::string) co_return unexpected();
    auto v = parse_json(r->str);
    if (!v) co_return fail(v.error());
    co_return std::optional<json::value>{std::move(*v)};
  }

  net::awaitable<result<void>> set(std::string field, json::value value) override {
    if (!sig_key_.empty() && one_slot_) {
      std::vector<std::string> keys{key_, sig_key_};
      std::vector<std::string> args{std::move(field), serialize_json(value)};
      redis::request req;
      req.eval(signed_set_script, keys, args).idempotent();
      auto r = co_await run(std::move(req));
      if (!r) co_return fail(r.error());
      co_return result<void>{};
    }
    // Two slots: DEL the signature first, as Python does, and once more after the write, so
    // that a signature another writer SET in between cannot outlive this change.
    if (!sig_key_.empty())
      if (auto d = co_await drop_signature(); !d) co_return fail(d.error());
    auto req = command(true, "HSET", redis::key(key_), field, serialize_json(value));
    auto r = co_await run(std::move(req));
    if (!r) co_return fail(r.error());
    if (!sig_key_.empty())
      if (auto d = co_await drop_signature(); !d) co_return fail(d.error());
    co_return result<void>{};
  }

  net::awaitable<result<bool>> erase(std::string field) override {
    if (!sig_key_.empty() && one_slot_) {
      std::vector<std::string> keys{key_, sig_key_};
      std::vector<std::string> args{std::move(field)};
      redis::request req;
      req.eval(signed_erase_script, keys, args);
      auto r = co_await run(std::move(req));
      if (!r) co_return fail(r.error());
      co_return positive(*r);
    }
    if (!sig_key_.empty())
      if (auto d = co_await drop_signature(); !d) co_return fail(d.error());
    auto req = command(false, "HDEL", redis::key(key_), field);
    auto r = co_await run(std::move(req));
    if (!r) co_return fail(r.error());
    if (!sig_key_.empty())
      if (auto d = co_await drop_signature(); !d) co_return fail(d.error());
    co_return positive(*r);
  }

  net::awaitable<result<bool>> contains(std::string field) override {
    auto req = command(true, "HEXISTS", redis::key(key_), field);
    auto r = co_await run(std::move(req));
    if (!r) co_return fail(r.error());
    co_return positive(*r);
  }

  net::awaitable<result<std::size_t>> size() override {
    auto req = command(true, "HLEN", redis::key(key_));
    auto r = co_await run(std::move(req));
    if (!r) co_return fail(r.error());
    auto n = integer(*r);
    if (!n) co_return fail(n.error());
    co_return static_cast<std::size_t>(*n);
  }

  net::awaitable<result<std::vector<std::string>>> keys() override {
    auto req = command(true, "HKEYS", redis::key(key_));
    auto r = co_await run(std::move(req));
    if (!r) co_return fail(r.error());
    if (r->type != redis::reply::kind::array) co_return unexpected();
    std::vector<std::string> out;
    out.reserve(r->elements.size());
    for (auto& e : r->elements) out.push_back(std::move(e.str));
    co_return out;
  }

  net::awaitable<result<std::vector<json::value>>> values() override {
    auto req = command(true, "HVALS", redis::key(key_));
    auto r = co_await run(std::move(req));
    if (!r) co_return fail(r.error());
    if (r->type != redis::reply::kind::array) co_return unexpected();
    std::vector<json::value> out;
    out.reserve(r->elements.size());
    for (const auto& e : r->elements)
      if (auto v = parse_json(e.str)) out.push_back(std::move(*v));
    co_return out;
  }

  net::awaitable<result<std::vector<entry>>> items() override {
    auto req = command(true, "HGETALL", redis::key(key_));
    auto r = co_await run(std::move(req));
    if (!r) co_return fail(r.error());
    if (r->type != redis::reply::kind::array || r->elements.size() % 2 != 0) co_return unexpected();
    std::vector<entry> out;
    out.reserve(r->elements.size() / 2);
    for (std::size_t i = 0; i + 1 < r->elements.size(); i += 2)
      if (auto v = parse_json(r->elements[i + 1].str))
        out.emplace_back(std::move(r->elements[i].str), std::move(*v));
    co_return out;
  }

  net::awaitable<result<void>> clear() override {
    if (!sig_key_.empty() && one_slot_) {
      auto req = command(true, "DEL", redis::key(key_), redis::key(sig_key_));
      auto r = co_await run(std::move(req));
      if (!r) co_return fail(r.error());
      co_return result<void>{};
    }
    if (!sig_key_.empty())
      if (auto d = co_await drop_signature(); !d) co_return fail(d.error());
    auto req = command(true, "DEL", redis::key(key_));
    auto r = co_await run(std::move(req));
    if (!r) co_return fail(r.error());
    co_return result<void>{};
  }

  net::awaitable<result<scan_page>> scan(std::string cursor, std::size_t count) override {
    auto req = command(true, "HSCAN", redis::key(key_), cursor, "COUNT",
                       std::to_string(std::max<std::size_t>(count, 1)));
    auto r = co_await run(std::move(req));
    if (!r) co_return fail(r.error());
    if (r->type != redis::reply::kind::array || r->elements.size() != 2) co_return unexpected();
    auto& fields = r->elements[1];
    if (fields.type != redis::reply::kind::array || fields.elements.size() % 2 != 0)
      co_return unexpected();
    scan_page page;
    page.cursor = std::move(r->elements[0].str);
    page.entries.reserve(fields.elements.size() / 2);
    for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2)
      if (auto v = parse_json(fields.elements[i + 1].str))
        page.entries.emplace_back(std::move(fields.elements[i].str), std::move(*v));
    co_return page;
  }

  net::awaitable<result<replace_stats>> replace_all(json::object mapping) override {
    if (mapping.empty() && !sig_key_.empty()) {
      // Python: set({}) is clear(), which deletes the hash and its signature.
      auto n = co_await size();
      if (!n) co_return fail(n.error());
      if (auto c = co_await clear(); !c) co_return fail(c.error());
      co_return replace_stats{0, *n, true};
    }
    if (mapping.empty()) {
      std::vector<std::string> keys{key_};
      std::vector<std::string> none;
      redis::request req;
      req.eval(clear_script, keys, none).idempotent();
      auto r = co_await run(std::move(req));
      if (!r) co_return fail(r.error());
      auto n = integer(*r);
      if (!n) co_return fail(n.error());
      co_return replace_stats{0, static_cast<std::size_t>(*n), true};
    }
    std::vector<std::string> args;
    args.reserve(mapping.size() * 2);
    std::size_t bytes = 0;
    for (const auto& m : mapping) {
      args.emplace_back(m.key());
      args.push_back(serialize_json(m.value()));
      bytes += args[args.size() - 2].size() + args.back().size();
    }
    const bool small = mapping.size() <= opts_.atomic_replace_max_fields &&
                       bytes <= opts_.atomic_replace_max_bytes;
    if (!sig_key_.empty()) co_return co_await replace_signed(std::move(args), small);
    if (small) co_return co_await replace_atomic(std::move(args));
    co_return co_await replace_chunked(std::move(args));
  }

  net::awaitable<result<void>> touch(std::string model, std::string sid,
                                     std::int64_t now) override {
    std::vector<std::string> keys{key_};
    std::vector<std::string> args{std::move(model), std::move(sid), std::to_string(now)};
    redis::request req;
    req.eval(touch_script, keys, args).idempotent();
    auto r = co_await run(std::move(req));
    if (!r) co_return fail(r.error());
    co_return result<void>{};
  }

  net::awaitable<result<bool>> remove_sid(std::string model, std::string sid) override {
    std::vector<std::string> keys{key_};
    std::vector<std::string> args{std::move(model), std::move(sid)};
    redis::request req;
    req.eval(remove_sid_script, keys, args).idempotent();
    co_return tristate(co_await run(std::move(req)));
  }

  net::awaitable<result<prune_stats>> prune(std::string model, std::int64_t older_than) override {
    std::vector<std::string> keys{key_};
    std::vector<std::string> args{std::move(model), std::to_string(older_than)};
    redis::request req;
    req.eval(prune_script, keys, args).idempotent();
    auto r = co_await run(std::move(req));
    if (!r) co_return fail(r.error());
    if (r->type != redis::reply::kind::array || r->elements.empty() ||
        r->elements[0].type != redis::reply::kind::integer)
      co_return unexpected();
    if (r->elements[0].integer < 0) co_return bad_value();
    prune_stats st;
    st.remaining = static_cast<std::size_t>(r->elements[0].integer);
    for (std::size_t i = 1; i < r->elements.size(); ++i)
      st.removed.push_back(std::move(r->elements[i].str));
    co_return st;
  }

  net::awaitable<result<bool>> heartbeat(std::string sid, std::int64_t now) override {
    std::vector<std::string> keys{key_};
    std::vector<std::string> args{std::move(sid), std::to_string(now)};
    redis::request req;
    req.eval(heartbeat_script(), keys, args).idempotent();
    co_return tristate(co_await run(std::move(req)));
  }

  net::awaitable<result<bool>> erase_stale(std::string sid, std::int64_t older_than) override {
    std::vector<std::string> keys{key_};
    std::vector<std::string> args{std::move(sid), std::to_string(older_than)};
    redis::request req;
    req.eval(erase_stale_script(), keys, args).idempotent();
    co_return tristate(co_await run(std::move(req)));
  }

 private:
  // One command; transport errors and error replies become error codes.
  net::awaitable<result<redis::reply>> run(redis::request req) {
    auto [ec, rep] = co_await client_->exec_one(std::move(req));
    if (ec) co_return fail(ec);
    if (rep.is_error()) co_return fail(redis::reply_error(rep.str));
    co_return std::move(rep);
  }

  static result<std::int64_t> integer(const redis::reply& r) {
    if (r.type != redis::reply::kind::integer) return unexpected();
    return r.integer;
  }

  static result<bool> positive(const redis::reply& r) {
    auto n = integer(r);
    if (!n) return fail(n.error());
    return *n > 0;
  }

  // The scripts' 1 / 0 / -1 answers.
  static result<bool> tristate(const result<redis::reply>& r) {
    if (!r) return fail(r.error());
    auto n = integer(*r);
    if (!n) return fail(n.error());
    if (*n < 0) return bad_value();
    return *n > 0;
  }

  net::awaitable<result<replace_stats>> replace_atomic(std::vector<std::string> args) {
    std::vector<std::string> keys{key_};
    redis::request req;
    req.eval(replace_script, keys, args).idempotent();
    auto r = co_await run(std::move(req));
    if (!r) co_return fail(r.error());
    if (r->type != redis::reply::kind::array || r->elements.size() != 2) co_return unexpected();
    co_return replace_stats{static_cast<std::size_t>(r->elements[0].integer),
                            static_cast<std::size_t>(r->elements[1].integer), true};
  }

  // DEL of the signature alone (the sequential path, when the two keys are in different slots).
  net::awaitable<result<void>> drop_signature() {
    auto req = command(true, "DEL", redis::key(sig_key_));
    auto r = co_await run(std::move(req));
    if (!r) co_return fail(r.error());
    co_return result<void>{};
  }

  net::awaitable<result<void>> set_signature(const std::string& digest) {
    auto req = command(true, "SET", redis::key(sig_key_), digest + ":" + base::uuid4_hex());
    auto r = co_await run(std::move(req));
    if (!r) co_return fail(r.error());
    co_return result<void>{};
  }

  // replace_all with a signature; `args` = field, json, ... (non-empty).
  net::awaitable<result<replace_stats>> replace_signed(std::vector<std::string> args, bool small) {
    std::vector<std::pair<std::string, std::string>> fields;
    fields.reserve(args.size() / 2);
    for (std::size_t i = 0; i + 1 < args.size(); i += 2) fields.emplace_back(args[i], args[i + 1]);
    const std::string digest = signature_digest(std::move(fields));
    if (small && one_slot_) {
      std::vector<std::string> keys{key_, sig_key_};
      std::vector<std::string> sargs;
      sargs.reserve(args.size() + 2);
      sargs.push_back(digest);
      sargs.push_back(base::uuid4_hex());
      for (auto& a : args) sargs.push_back(std::move(a));
      redis::request req;
      req.eval(replace_signed_script, keys, sargs).idempotent();
      auto r = co_await run(std::move(req));
      if (!r) co_return fail(r.error());
      if (r->type != redis::reply::kind::array || r->elements.size() != 2) co_return unexpected();
      co_return replace_stats{static_cast<std::size_t>(r->elements[0].integer),
                              static_cast<std::size_t>(r->elements[1].integer), true};
    }
    // Two slots (or too large for one script): one step at a time in Python's order (DEL the
    // signature, HSET, HDEL, SET a new one). Another writer may interleave between the steps, as
    // with Python's own writes; the hash itself is still replaced by one script when small.
    if (small) {
      auto req = command(true, "GET", redis::key(sig_key_));
      auto old = co_await run(std::move(req));
      if (!old) co_return fail(old.error());
      if (old->type == redis::reply::kind::string && old->str.starts_with(digest + ":")) {
        // Python would skip this write. The hash is still compared field by field (so a writer
        // that ignored the signature is repaired); only a change needs a new signature.
        auto st = co_await replace_atomic(std::move(args));
        if (!st) co_return st;
        if (st->written != 0 || st->deleted != 0)
          if (auto s = co_await set_signature(digest); !s) co_return fail(s.error());
        co_return st;
      }
    }
    if (auto d = co_await drop_signature(); !d) co_return fail(d.error());
    result<replace_stats> st = replace_stats{};
    if (small) st = co_await replace_atomic(std::move(args));
    else st = co_await replace_chunked(std::move(args));
    if (!st) co_return st;
    if (auto s = co_await set_signature(digest); !s) co_return fail(s.error());
    co_return st;
  }

  // Too large for one script: HSET in chunks, then delete what is gone. Never empty meanwhile.
  net::awaitable<result<replace_stats>> replace_chunked(std::vector<std::string> args) {
    replace_stats st;
    st.atomic = false;
    std::unordered_set<std::string_view> wanted;
    for (std::size_t i = 0; i < args.size(); i += 2) wanted.insert(args[i]);
    for (std::size_t i = 0; i < args.size();) {
      redis::command c;
      c.args.emplace_back("HSET");
      c.key_indexes.push_back(1);
      c.args.push_back(key_);
      for (std::size_t n = 0; n < opts_.chunk_fields && i < args.size(); ++n, i += 2) {
        c.args.push_back(args[i]);
        c.args.push_back(args[i + 1]);
        ++st.written;
      }
      redis::request req;
      req.push(std::move(c)).idempotent();
      auto r = co_await run(std::move(req));
      if (!r) co_return fail(r.error());
    }
    auto existing = co_await keys();
    if (!existing) co_return fail(existing.error());
    std::vector<std::string> gone;
    for (auto& f : *existing)
      if (!wanted.contains(f)) gone.push_back(std::move(f));
    for (std::size_t i = 0; i < gone.size();) {
      redis::command c;
      c.args.emplace_back("HDEL");
      c.key_indexes.push_back(1);
      c.args.push_back(key_);
      for (std::size_t n = 0; n < opts_.chunk_fields && i < gone.size(); ++n, ++i)
        c.args.push_back(gone[i]);
      redis::request req;
      req.push(std::move(c)).idempotent();
      auto r = co_await run(std::move(req));
      if (!r) co_return fail(r.error());
      if (auto n = integer(*r)) st.deleted += static_cast<std::size_t>(*n);
    }
    co_return st;
  }

  std::shared_ptr<redis::client> client_;
  std::string key_;
  shared_dict_options opts_;
  std::string sig_key_;   ///< "<key>:signature" when opts_.signature, else empty
  bool one_slot_ = true;  ///< the hash and its signature may be written by one script
};

}  // namespace

std::shared_ptr<shared_dict> make_redis_shared_dict(const redis_backend& backend,
                                                    std::string_view name,
                                                    shared_dict_options options) {
  if (name == keys::models) options.signature = true;
  return std::make_shared<redis_dict>(backend.client, keys::key(backend.prefix, name), options);
}

}  // namespace owcore::coord::shared
