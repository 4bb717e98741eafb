// The memory backend of document_store.hpp: one process, the same merge and compaction rules as
// the Redis backend (docs/wire.md, "Yjs documents").
#include "owcore/coord/ydoc/document_store.hpp"

#include "owcore/coord/metrics.hpp"
#include "owcore/coord/ydoc/keys.hpp"
#include "owcore/coord/ydoc/store_common.hpp"
#include "owcore/yjs/merge.hpp"
#include "owcore/yjs/update.hpp"

#include <spdlog/logger.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>

namespace owcore::coord::ydoc {
namespace {

using boost::system::error_code;
using namespace detail;

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
      auto lock = locked();
      auto [it, created] = docs_.try_emplace(doc);
      if (created) it->second.epoch = ++next_epoch_;
      it->second.updates.push_back(std::move(update));
      n = it->second.updates.size();
    }
    coord::metrics().ydoc.appends.inc();
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
    auto lock = locked();
    auto it = docs_.find(keys::storage_id(document_id));
    if (it == docs_.end()) co_return std::vector<yjs::byte_buffer>{};
    co_return it->second.updates;
  }

  net::awaitable<result<yjs::byte_buffer>> state(std::string document_id) override {
    if (!valid_id(document_id)) co_return make_error_code(error::invalid_argument);
    std::vector<yjs::byte_buffer> updates;
    {
      auto lock = locked();
      if (auto it = docs_.find(keys::storage_id(document_id)); it != docs_.end())
        updates = it->second.updates;
    }
    co_return merge_valid(updates);
  }

  net::awaitable<result<bool>> exists(std::string document_id) override {
    if (!valid_id(document_id)) co_return bool_error(make_error_code(error::invalid_argument));
    auto lock = locked();
    co_return docs_.contains(keys::storage_id(document_id));
  }

  net::awaitable<result<void>> add_user(std::string document_id, std::string sid) override {
    if (!valid_id(document_id) || !valid_id(sid))
      co_return make_error_code(error::invalid_argument);
    const std::string doc = keys::storage_id(document_id);
    auto lock = locked();
    users_[doc].insert(sid);
    index_[sid].insert(doc);
    expiring_.erase(doc);
    co_return result<void>{};
  }

  net::awaitable<result<void>> remove_user(std::string document_id, std::string sid) override {
    if (!valid_id(document_id) || !valid_id(sid))
      co_return make_error_code(error::invalid_argument);
    const std::string doc = keys::storage_id(document_id);
    auto lock = locked();
    erase_member(users_, doc, sid);
    erase_member(index_, sid, doc);
    co_return result<void>{};
  }

  net::awaitable<result<std::vector<std::string>>> users(std::string document_id) override {
    if (!valid_id(document_id)) co_return make_error_code(error::invalid_argument);
    auto lock = locked();
    auto it = users_.find(keys::storage_id(document_id));
    if (it == users_.end()) co_return std::vector<std::string>{};
    co_return std::vector<std::string>(it->second.begin(), it->second.end());
  }

  net::awaitable<result<std::vector<std::string>>> remove_user_from_all_documents(
      std::string sid, std::chrono::milliseconds keep_empty_for) override {
    if (!valid_id(sid)) co_return make_error_code(error::invalid_argument);
    std::vector<std::string> cleared;
    auto lock = locked();
    auto idx = index_.find(sid);
    if (idx == index_.end()) co_return cleared;
    for (const auto& doc : idx->second) {
      erase_member(users_, doc, sid);
      if (!users_.contains(doc)) {
        if (keep_empty_for.count() > 0) {
          if (docs_.contains(doc)) expiring_[doc] = std::chrono::steady_clock::now() + keep_empty_for;
        } else {
          clear_locked(doc);
        }
        cleared.push_back(doc);
      }
    }
    index_.erase(idx);
    co_return cleared;
  }

  net::awaitable<result<void>> clear(std::string document_id) override {
    if (!valid_id(document_id)) co_return make_error_code(error::invalid_argument);
    auto lock = locked();
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
      auto lock = locked();
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
    auto lock = locked();
    auto it = docs_.find(doc);
    if (it == docs_.end() || it->second.epoch != epoch || it->second.updates.size() < prefix.size())
      co_return rep;
    auto& u = it->second.updates;
    rep.appended_meanwhile = u.size() - observed;
    u.erase(u.begin() + 1, u.begin() + static_cast<std::ptrdiff_t>(prefix.size()));
    u.front() = std::move(*snapshot);
    it->second.epoch = ++next_epoch_;
    rep.replaced = true;
    coord::metrics().ydoc.compactions.inc();
    coord::metrics().ydoc.compacted_rejected.inc(rep.rejected);
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
      auto lock = locked();
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
    expiring_.erase(doc);
  }

  // Takes the mutex and drops the documents whose expiry passed, as Redis expires keys: lazily,
  // before anything can read them.
  std::unique_lock<std::mutex> locked() {
    std::unique_lock lock(mutex_);
    if (!expiring_.empty()) {
      const auto now = std::chrono::steady_clock::now();
      for (auto it = expiring_.begin(); it != expiring_.end();) {
        if (it->second > now) {
          ++it;
          continue;
        }
        docs_.erase(it->first);
        it = expiring_.erase(it);
      }
    }
    return lock;
  }

  store_options opts_;
  std::mutex mutex_;  ///< guards everything below; never held across a suspension
  std::map<std::string, doc_entry> docs_;
  std::map<std::string, std::set<std::string>> users_;
  std::map<std::string, std::set<std::string>> index_;
  std::map<std::string, std::chrono::steady_clock::time_point> expiring_;  ///< updates kept until
  std::set<std::string> compacting_;
  std::uint64_t next_epoch_ = 0;
};

}  // namespace

std::shared_ptr<document_store> make_memory_document_store(store_options opts) {
  return std::make_shared<memory_store>(std::move(opts));
}

}  // namespace owcore::coord::ydoc
