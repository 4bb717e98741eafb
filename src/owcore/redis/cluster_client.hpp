#pragma once
// The Redis Cluster client: slot routing over one multiplexed connection per master, MOVED/ASK
// redirects, TRYAGAIN/CLUSTERDOWN backoff, slot map refresh on a timer and after redirects, and
// seed fallback when every known node fails.

#include "owcore/redis/client.hpp"

#include <memory>

namespace owcore::redis {

/// Builds a Cluster client (see client.hpp for the contract). A request whose keys span several
/// hash slots fails with error::cross_slot before anything is sent; its response then holds one
/// error reply whose text names the keys and their slots. A pipeline is retried after a redirect
/// only when every command was redirected the same way, so no command runs twice.
std::shared_ptr<client> make_cluster_client(net::executor ex, client_options opts);

}  // namespace owcore::redis
