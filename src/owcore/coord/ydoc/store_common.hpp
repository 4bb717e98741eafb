#pragma once
// What the memory and Redis document stores share (memory_document_store.cpp,
// redis_document_store.cpp): element parsing, merging with list positions, the checks before an
// append, and the one-compaction-per-document guard (docs/wire.md, "Yjs documents").
// Internal to coord/ydoc.

#include "owcore/coord/ydoc/document_store.hpp"

#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace owcore::coord::ydoc::detail {

/// "invalid update: byte 17: invalid UTF-8 (ContentString)".
std::string describe(const yjs::decode_error& e);

/// merge_valid with list positions: `index[i]` is where updates[i] sits in the stored list.
result<yjs::byte_buffer> merge_indexed(const std::vector<yjs::byte_buffer>& updates,
                                       const std::vector<std::size_t>& index,
                                       std::vector<invalid_element>* invalid, bool reductions);

/// Stored elements parsed into bytes; the unparsable ones are listed with their positions.
struct parsed_list {
  std::vector<yjs::byte_buffer> updates;
  std::vector<std::size_t> index;
  std::vector<invalid_element> invalid;
  std::size_t update_bytes = 0;
  std::size_t stored_bytes = 0;
};

/// Parses each stored element (the JSON array text Python stores).
parsed_list parse_list(const std::vector<redis::reply>& elements);

/// Orders invalid elements by their list position.
void sort_invalid(std::vector<invalid_element>& v);

/// result<bool> cannot be built from an error_code implicitly (error_code converts to bool).
inline result<bool> bool_error(boost::system::error_code ec) {
  return result<bool>(boost::system::in_place_error, ec);
}

/// A document id or sid owcore accepts: non-empty, at most max_id_size bytes.
inline bool valid_id(std::string_view id) { return !id.empty() && id.size() <= max_id_size; }

/// Size and codec checks before anything is stored.
boost::system::error_code check_update(const yjs::byte_buffer& update, const store_options& opts);

/// The compaction threshold in effect (at least 2 elements).
inline std::size_t threshold_of(const store_options& o) {
  return std::max<std::size_t>(o.compaction_threshold, 2);
}

/// Keeps one compaction per document per store object in flight. Thread-safe through `m`.
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
  /// False when another compaction of the document was already running.
  bool owned() const noexcept { return owned_; }

 private:
  std::mutex& m_;
  std::set<std::string>& active_;
  std::string doc_;
  bool owned_ = false;
};

}  // namespace owcore::coord::ydoc::detail
