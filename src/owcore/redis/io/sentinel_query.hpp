#pragma once
// Asking the sentinels for a master: the one loop over the sentinels, shared by the Sentinel
// client (client.cpp, resolve_master) and the start-up probe (probe.cpp). Each answer is parsed
// by protocol/sentinel (docs/redis.md).

#include "owcore/net/executor.hpp"
#include "owcore/net/stream.hpp"
#include "owcore/redis/error.hpp"
#include "owcore/redis/protocol/address.hpp"
#include "owcore/redis/protocol/setup.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace owcore::redis::io {

/// The outcome of asking the sentinels.
struct sentinel_lookup {
  bool found = false;   ///< `master` holds the first master named
  address master;
  error_info unknown;   ///< set (unknown_master) when the lookup stopped at a sentinel that does
                        ///< not know the service
  std::string tried;    ///< "; "-separated failures of the sentinels asked before
};

/// Asks `sentinels` in order (connect with `base`'s TLS settings, AUTH with `auth`, then
/// SENTINEL GET-MASTER-ADDR-BY-NAME `service`, each step within `timeout`) until one names a
/// master. With `stop_on_unknown`, a sentinel that does not know the service ends the lookup
/// (the probe's rule: a misconfigured name should not wait for every sentinel); otherwise the
/// next sentinel is asked (the client's rule: one sentinel may have lost its config).
net::awaitable<sentinel_lookup> ask_sentinels(const std::vector<address>& sentinels,
                                              const std::string& service,
                                              const credentials& auth,
                                              const net::connect_options& base,
                                              std::chrono::steady_clock::duration timeout,
                                              bool stop_on_unknown);

}  // namespace owcore::redis::io
