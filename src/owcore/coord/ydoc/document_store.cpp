#include "owcore/coord/ydoc/document_store.hpp"

#include "owcore/coord/ydoc/store_common.hpp"

#include "owcore/yjs/cli_merge.hpp"
#include "owcore/yjs/merge.hpp"
#include "owcore/yjs/update.hpp"

#include <algorithm>

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

namespace detail {

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

// Size and codec checks before anything is stored.
boost::system::error_code check_update(const yjs::byte_buffer& update, const store_options& opts) {
  if (update.size() > opts.max_update_bytes) return make_error_code(error::update_too_large);
  if (!yjs::decode_update(update)) return make_error_code(error::invalid_update);
  return {};
}

}  // namespace detail

result<yjs::byte_buffer> merge_valid(const std::vector<yjs::byte_buffer>& updates,
                                     std::vector<invalid_element>* invalid, bool reductions) {
  std::vector<std::size_t> index(updates.size());
  for (std::size_t i = 0; i < index.size(); ++i) index[i] = i;
  return detail::merge_indexed(updates, index, invalid, reductions);
}

}  // namespace owcore::coord::ydoc
