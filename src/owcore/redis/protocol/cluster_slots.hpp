#pragma once
// The sans-io core of Redis Cluster routing: the key slot function with hash
// tags, the cross-slot check, the slot -> node range map built from CLUSTER SLOTS, and the
// classification of redirect and cluster error replies. No I/O, no logging, no exceptions: the
// cluster client feeds replies in and gets values out.
//
// Addresses are "host:port" strings rendered the way Redis renders them in MOVED/ASK: an IPv6 host
// is not bracketed ("::1:6380"), so the port is always after the last colon. An address with an
// empty host (":6380") means "the host of the node that sent it" (Redis 7 with
// cluster-preferred-endpoint-type unknown-endpoint); see resolve_address().

#include "owcore/redis/protocol/address.hpp"
#include "owcore/redis/protocol/request.hpp"
#include "owcore/redis/protocol/resp.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace owcore::redis {

/// Number of hash slots in a Redis Cluster; slots are 0 .. slot_count - 1.
inline constexpr std::uint16_t slot_count = 16384;

/// The hash slot of `key`: CRC16 (XMODEM: polynomial 0x1021, initial value 0, no reflection) of
/// the key modulo 16384, as in the Redis Cluster spec. Hash tags: if the key has a `{` and a `}`
/// after it with at least one byte between them, only the bytes between the first `{` and the
/// first `}` after it are hashed ("{user1000}.following" hashes "user1000"; "foo{}{bar}" hashes
/// the whole key). Binary-safe; any length. Pure, thread-safe.
std::uint16_t key_slot(std::string_view key) noexcept;

/// nullopt when every key of every command of `req` maps to one slot, or when it has no keys.
/// Otherwise a human-readable message naming the distinct keys and their slots, e.g.
/// `keys span several hash slots: "a" (15495), "b" (3300); use a hash tag such as {user}:a`.
/// The cluster client turns it into an error before anything is sent. Bounded: at most 8 keys are
/// named (then "and N more"), each cut to 64 bytes with non-printable bytes escaped as \xHH.
/// Pure, thread-safe.
std::optional<std::string> cross_slot_error(const request& req);

/// The slot `req` must be sent to: the slot of its first key, or nullopt when it has no keys
/// (route it to any node). Does not check the other keys; call cross_slot_error() first.
/// Pure, thread-safe.
std::optional<std::uint16_t> request_slot(const request& req);

/// `address` unchanged when its host part (before the last colon) is non-empty, else
/// `replying_host` + ":" + port (":6381" or "[]:6381" from a node at 10.0.0.5 -> "10.0.0.5:6381").
/// Use it on redirect::address with the host of the node that sent the redirect, written as in
/// addresses (IPv6 unbracketed). Does not validate; pure, thread-safe.
std::string resolve_address(std::string_view address, std::string_view replying_host);

/// A master and its replicas as listed by CLUSTER SLOTS. Immutable once in a slot_map.
struct cluster_node {
  std::string master;                 ///< "host:port"
  std::vector<std::string> replicas;  ///< "host:port" each, in the order the server listed them
};

/// Which node serves each hash slot: an ordered range map keyed by the first slot of each range
/// (lookups by lower_bound). Slots not covered by any range (gaps) have no node.
///
/// A value type. Copies are cheap (one map entry per range; nodes are shared, immutable and
/// reference-counted), so the cluster client keeps one current map and replaces it wholesale after
/// a refresh. Not synchronized: give each copy to one executor, or share it only as a
/// `shared_ptr<const slot_map>` that is never mutated.
///
/// Invariants: ranges never overlap; adjacent ranges with the same master are merged; the number of
/// ranges is at most slot_count.
class slot_map {
 public:
  /// An empty map (no slot covered).
  slot_map() = default;

  /// Builds a map from the reply to CLUSTER SLOTS: an array of
  /// [start, end, [host, port, id, metadata...], [replica host, port, id, ...]...].
  /// A nil or empty host means "the node you asked" and is replaced by `asked_host` (write an IPv6
  /// host unbracketed, as in every address here). A master whose host is "?"
  /// (cluster-preferred-endpoint-type hostname with no hostname set) is an error; a replica with
  /// host "?" is left out. Ranges out of 0..16383, start > end, overlapping ranges, a
  /// port outside 1..65535 or any other shape are errors. An empty array is a valid, empty map.
  /// On error returns nullopt and, if `error` is not null, stores a one-line reason there.
  /// Never throws on malformed input (only std::bad_alloc).
  static std::optional<slot_map> from_cluster_slots(const reply& r, std::string_view asked_host,
                                                    std::string* error = nullptr);

  /// The master address serving `slot`, or nullopt for an uncovered slot or slot >= slot_count.
  /// O(log ranges).
  std::optional<std::string> master_for(std::uint16_t slot) const;

  /// The node (master and replicas) serving `slot`, or null as for master_for(). The pointer stays
  /// valid after this map is changed or destroyed.
  std::shared_ptr<const cluster_node> node_for(std::uint16_t slot) const;

  /// Applies a MOVED redirect: `slot` is now served by the master at `address` (pass it through
  /// resolve_address() first). Splits the range that held the slot, leaving its other slots with
  /// their node, and merges with neighbours that have the same master. If `address` is already a
  /// master in the map its replicas are kept; otherwise the new node has none (until a refresh).
  /// Returns false, changing nothing, if slot >= slot_count or `address` is empty.
  bool update(std::uint16_t slot, std::string_view address);

  /// How many slots have a node (slot_count when the cluster is fully covered).
  std::size_t covered_slots() const noexcept;

  /// How many ranges the map holds (after merging).
  std::size_t range_count() const noexcept { return ranges_.size(); }

  /// Distinct master addresses, in the order of the first slot each serves.
  std::vector<std::string> masters() const;

  /// The inclusive [first, last] slot ranges whose master is `address`, ascending. Empty if it is
  /// not a master here (replicas serve no ranges).
  std::vector<std::pair<std::uint16_t, std::uint16_t>> ranges_of(std::string_view address) const;

  /// Every distinct address, masters and replicas: in slot order, each master followed by its
  /// replicas.
  std::vector<std::string> nodes() const;

 private:
  struct range {
    std::uint16_t last;  // inclusive
    std::shared_ptr<const cluster_node> node;
  };
  using range_map = std::map<std::uint16_t, range>;  // keyed by the first slot

  std::shared_ptr<const cluster_node> node_with_master(std::string_view address) const;
  void merge_around(range_map::iterator it);

  range_map ranges_;
};

/// What a server error reply asks the cluster client to do.
struct redirect {
  enum class kind {
    none,         ///< not a cluster error: hand the reply to the caller
    moved,        ///< "MOVED <slot> <address>": the slot lives elsewhere; update/refresh the map
    ask,          ///< "ASK <slot> <address>": send ASKING then the command to address, once
    tryagain,     ///< "TRYAGAIN ...": multi-key command during resharding; retry after a pause
    clusterdown,  ///< "CLUSTERDOWN ...": the cluster (or this slot) is not serving
    readonly,     ///< "READONLY ...": a write reached a replica (failover); refresh the map
    loading,      ///< "LOADING ...": the node is loading its dataset; retry later
    masterdown,   ///< "MASTERDOWN ...": a replica lost its master; retry later or elsewhere
  };
  kind type = kind::none;
  std::uint16_t slot = 0;  ///< moved and ask only; < slot_count
  /// moved and ask only: the address exactly as the server wrote it ("127.0.0.1:6381",
  /// "::1:6380"). Its host part is empty (":6381") when the server means "my own host" (Redis 7,
  /// cluster-preferred-endpoint-type unknown-endpoint); pass it through resolve_address().
  std::string address;
};

/// Classifies the text of an error reply (reply::str, without the leading '-'). The prefix must be
/// upper case as Redis sends it. MOVED/ASK must be exactly "<WORD> <slot> <address>" with a decimal
/// slot below 16384 and an address address::parse() accepts; anything malformed, and every other
/// error, is kind::none. Never throws (beyond std::bad_alloc) or crashes on any input; pure,
/// thread-safe.
redirect classify_error(std::string_view error_text);

}  // namespace owcore::redis
