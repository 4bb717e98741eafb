#include "owcore/coord/shared/shared_dict.hpp"

#include "owcore/base/hex.hpp"
#include "owcore/base/pyjson.hpp"
#include "owcore/coord/shared/dict_errors.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace owcore::coord::shared {

namespace json = boost::json;
using boost::system::error_code;

namespace {

using detail::fail;
using detail::failure;

class shared_error_category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "owcore.shared"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::bad_value: return "stored value is not the expected JSON";
      case error::unexpected_reply: return "unexpected Redis reply";
    }
    return "unknown shared dict error";
  }
};

bool has_non_finite(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_: return !std::isfinite(v.get_double());
    case json::kind::array:
      for (const auto& e : v.get_array())
        if (has_non_finite(e)) return true;
      return false;
    case json::kind::object:
      for (const auto& m : v.get_object())
        if (has_non_finite(m.value())) return true;
      return false;
    default: return false;
  }
}


// Numbers the usage pool compares, as Lua sees them (cjson decodes every JSON number).
std::optional<double> as_number(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  if (v->is_double()) return v->get_double();
  return std::nullopt;
}

using detail::bad_value;

// --- Memory backend --------------------------------------------------------------------------

class memory_dict final : public shared_dict {
 public:
  explicit memory_dict(std::string name) : name_(std::move(name)) {}

  const std::string& name() const noexcept override { return name_; }

  net::awaitable<result<std::optional<json::value>>> get(std::string field) override {
    std::lock_guard lock(mutex_);
    auto it = map_.find(field);
    if (it == map_.end()) co_return std::optional<json::value>{};
    co_return std::optional<json::value>{it->second};
  }

  net::awaitable<result<void>> set(std::string field, json::value value) override {
    base::pyjson::null_non_finite(value);
    std::lock_guard lock(mutex_);
    map_[std::move(field)] = std::move(value);
    co_return result<void>{};
  }

  net::awaitable<result<bool>> erase(std::string field) override {
    std::lock_guard lock(mutex_);
    co_return map_.erase(field) > 0;
  }

  net::awaitable<result<bool>> contains(std::string field) override {
    std::lock_guard lock(mutex_);
    co_return map_.contains(field);
  }

  net::awaitable<result<std::size_t>> size() override {
    std::lock_guard lock(mutex_);
    co_return map_.size();
  }

  net::awaitable<result<std::vector<std::string>>> keys() override {
    std::vector<std::string> out;
    {
      std::lock_guard lock(mutex_);
      out.reserve(map_.size());
      for (const auto& [k, v] : map_) out.push_back(k);
    }
    co_return out;
  }

  net::awaitable<result<std::vector<json::value>>> values() override {
    std::vector<json::value> out;
    {
      std::lock_guard lock(mutex_);
      out.reserve(map_.size());
      for (const auto& [k, v] : map_) out.push_back(v);
    }
    co_return out;
  }

  net::awaitable<result<std::vector<entry>>> items() override {
    std::vector<entry> out;
    {
      std::lock_guard lock(mutex_);
      out.reserve(map_.size());
      for (const auto& [k, v] : map_) out.emplace_back(k, v);
    }
    co_return out;
  }

  net::awaitable<result<void>> clear() override {
    std::lock_guard lock(mutex_);
    map_.clear();
    co_return result<void>{};
  }

  // The cursor is "0" or "k" followed by the last field returned; the map is ordered, so the next
  // step resumes after it.
  net::awaitable<result<scan_page>> scan(std::string cursor, std::size_t count) override {
    scan_page page;
    std::lock_guard lock(mutex_);
    auto it = map_.begin();
    if (cursor.size() > 1 && cursor.front() == 'k')
      it = map_.upper_bound(std::string_view(cursor).substr(1));
    for (std::size_t n = 0; it != map_.end() && n < std::max<std::size_t>(count, 1); ++it, ++n)
      page.entries.emplace_back(it->first, it->second);
    page.cursor = it == map_.end() || page.entries.empty() ? "0" : "k" + page.entries.back().first;
    co_return page;
  }

  net::awaitable<result<replace_stats>> replace_all(json::object mapping) override {
    replace_stats st;
    std::lock_guard lock(mutex_);
    for (auto it = map_.begin(); it != map_.end();) {
      if (!mapping.contains(it->first)) {
        it = map_.erase(it);
        ++st.deleted;
      } else {
        ++it;
      }
    }
    for (auto& m : mapping) {
      json::value v = std::move(m.value());
      base::pyjson::null_non_finite(v);
      auto it = map_.find(m.key());
      if (it == map_.end()) {
        map_.emplace(std::string(m.key()), std::move(v));
        ++st.written;
      } else if (it->second != v) {
        it->second = std::move(v);
        ++st.written;
      }
    }
    co_return st;
  }

  net::awaitable<result<void>> touch(std::string model, std::string sid,
                                     std::int64_t now) override {
    std::lock_guard lock(mutex_);
    auto& v = map_[model];
    if (!v.is_object()) v = json::object{};
    json::object inner;
    inner["updated_at"] = now;
    v.get_object()[sid] = std::move(inner);
    co_return result<void>{};
  }

  net::awaitable<result<bool>> remove_sid(std::string model, std::string sid) override {
    std::lock_guard lock(mutex_);
    auto it = map_.find(model);
    if (it == map_.end()) co_return false;
    if (!it->second.is_object()) co_return bad_value();
    auto& obj = it->second.get_object();
    if (obj.erase(sid) == 0) co_return false;
    if (obj.empty()) map_.erase(it);
    co_return true;
  }

  net::awaitable<result<prune_stats>> prune(std::string model, std::int64_t older_than) override {
    prune_stats st;
    std::lock_guard lock(mutex_);
    auto it = map_.find(model);
    if (it == map_.end()) co_return st;
    if (!it->second.is_object()) co_return bad_value();
    auto& obj = it->second.get_object();
    const double limit = static_cast<double>(older_than);
    for (const auto& m : obj) {
      const json::value* ts =
          m.value().is_object() ? m.value().get_object().if_contains("updated_at") : nullptr;
      const auto t = as_number(ts);
      if (!t || *t < limit) st.removed.emplace_back(m.key());
    }
    for (const auto& sid : st.removed) obj.erase(sid);
    st.remaining = obj.size();
    if (obj.empty()) map_.erase(it);
    co_return st;
  }

  net::awaitable<result<bool>> heartbeat(std::string sid, std::int64_t now) override {
    std::lock_guard lock(mutex_);
    auto it = map_.find(sid);
    if (it == map_.end()) co_return false;
    if (!it->second.is_object()) co_return bad_value();
    it->second.get_object()["last_seen_at"] = now;
    co_return true;
  }

  net::awaitable<result<bool>> erase_stale(std::string sid, std::int64_t older_than) override {
    std::lock_guard lock(mutex_);
    auto it = map_.find(sid);
    if (it == map_.end()) co_return false;
    if (!it->second.is_object()) co_return bad_value();
    const auto t = as_number(it->second.get_object().if_contains("last_seen_at"));
    if (t && *t >= static_cast<double>(older_than)) co_return false;
    map_.erase(it);
    co_return true;
  }

 private:
  std::string name_;
  std::mutex mutex_;
  std::map<std::string, json::value, std::less<>> map_;
};

}  // namespace

const boost::system::error_category& shared_category() noexcept {
  static const shared_error_category category;
  return category;
}

result<json::value> parse_json(std::string_view text) {
  // Python's recursion limit is of this order (Boost.JSON's default depth is 32). Read exactly as
  // json.loads reads it (base/pyjson), then non-finite numbers become null as documented.
  auto v = base::pyjson::load(text, 1000);
  auto* ok = std::get_if<json::value>(&v);
  if (!ok) return bad_value();
  if (has_non_finite(*ok)) base::pyjson::null_non_finite(*ok);
  return std::move(*ok);
}

std::string serialize_json(const json::value& v) {
  if (!has_non_finite(v)) return json::serialize(v);
  json::value copy = v;
  base::pyjson::null_non_finite(copy);
  return json::serialize(copy);
}

std::shared_ptr<shared_dict> make_memory_shared_dict(std::string name) {
  return std::make_shared<memory_dict>(std::move(name));
}

std::string signature_digest(std::vector<std::pair<std::string, std::string>> fields) {
  std::sort(fields.begin(), fields.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  static constexpr char nul = '\0';
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1;
  for (const auto& [name, text] : fields) {
    ok = ok && EVP_DigestUpdate(ctx.get(), name.data(), name.size()) == 1 &&
         EVP_DigestUpdate(ctx.get(), &nul, 1) == 1 &&
         EVP_DigestUpdate(ctx.get(), text.data(), text.size()) == 1 &&
         EVP_DigestUpdate(ctx.get(), &nul, 1) == 1;
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  ok = ok && EVP_DigestFinal_ex(ctx.get(), md.data(), &len) == 1;
  if (!ok) throw std::runtime_error("SHA-256 failed");
  return base::hex_encode(std::string_view(reinterpret_cast<const char*>(md.data()), len));
}

}  // namespace owcore::coord::shared
