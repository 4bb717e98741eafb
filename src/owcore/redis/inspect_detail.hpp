#pragma once
// Internal to the inspector (inspect.cpp, inspect_sentinel.cpp): a node inspection that leaves its
// connection open for follow-up questions, and the command builder.

#include "owcore/redis/inspect.hpp"
#include "owcore/redis/io/basic_connection.hpp"

#include <string>
#include <utility>
#include <vector>

namespace owcore::redis::detail {

// g++ 12 miscompiles braced lists inside co_await expressions, so commands are built here.
template <class... A>
std::vector<std::string> cmd(A&&... a) {
  std::vector<std::string> v;
  v.reserve(sizeof...(a));
  (v.emplace_back(std::forward<A>(a)), ...);
  return v;
}

/// The step failure of a connect/set-up error of `conn.open()` for the options `what`.
step_failure setup_step_failure(const error_info& err, const node_inspection& what);

/// inspect_node() on `conn`, which stays open afterwards unless a step failed.
net::awaitable<node_facts> inspect_on(basic_connection& conn, node_inspection what);

/// `base` (TLS settings) pointed at `a` over TCP.
net::connect_options at(const net::connect_options& base, const address& a);

/// The inspection of a data node of `o` at `where`: its credentials, `db`, `pings` PINGs, ROLE,
/// INFO when `info`, and the ACL dry run when `o.key_prefix` is set.
node_inspection data_node(const inspect_options& o, net::connect_options where, int db, int pings,
                          bool info);

/// The Sentinel part of inspect() (inspect_sentinel.cpp).
net::awaitable<sentinel_facts> inspect_sentinel(const inspect_options& o);

}  // namespace owcore::redis::detail
