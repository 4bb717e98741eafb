#pragma once
// Reading the text answers Redis gives about itself (docs/redis.md, "The inspector"): INFO's
// "field:value" lines and their "k1=v1,k2=v2" items, the flat key/value arrays of SENTINEL
// MASTER / SENTINEL REPLICAS, and CLUSTER NODES lines. Sans-io, pure, thread-safe.

#include "owcore/redis/protocol/resp.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace owcore::redis {

/// The value of `field` in an INFO text ("field:value" lines, CRLF or LF); nullopt if absent.
std::optional<std::string> info_field(std::string_view info, std::string_view field);

/// The value of `key` in "k1=v1,k2=v2" (INFO keyspace and replication slaveN items).
std::optional<std::string> csv_field(std::string_view csv, std::string_view key);

/// True when `word` is one of the comma-separated words of `csv` (Sentinel and Cluster flags).
bool has_word(std::string_view csv, std::string_view word);

/// The value after `key` in a flat key/value array reply (SENTINEL MASTER, SENTINEL REPLICAS
/// items); nullopt for another shape or a missing key.
std::optional<std::string> map_field(const reply& flat, std::string_view key);

/// One replica a master lists in INFO replication ("slave0:ip=...,port=...,state=online,...").
struct info_replica {
  std::string addr;   ///< "ip:port", IPv6 bracketed; "?" for a missing part
  std::string state;  ///< "online", "wait_bgsave", ...; "" when absent
};

/// The replicas of an INFO text, in slaveN order (stops at the first missing N).
std::vector<info_replica> info_replicas(std::string_view info);

/// One line of CLUSTER NODES: "<id> <ip:port@cport[,hostname]> <flags> <master-id> ...".
struct cluster_nodes_line {
  std::string id;
  std::string addr;  ///< "ip:port" without "@cport"; "" for a node without an address (noaddr)
  std::string flags;
  std::string master_id;  ///< "-" for a master
};

/// Parses a CLUSTER NODES text; lines with fewer than four fields are skipped.
std::vector<cluster_nodes_line> parse_cluster_nodes(std::string_view text);

}  // namespace owcore::redis
