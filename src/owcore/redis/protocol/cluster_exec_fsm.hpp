#pragma once
// The Redis Cluster execution state machine, sans-io (docs/redis.md): what the cluster client
// does with one request, step by step, through MOVED, ASK, TRYAGAIN, CLUSTERDOWN, READONLY,
// LOADING, MASTERDOWN and transport errors. The MOVED/ASK handling lives here, in resume(); the
// shell (cluster_client.cpp) only routes by the slot map, sends, refreshes the map and sleeps, and
// reports each outcome back as an event.

#include "owcore/redis/protocol/backoff.hpp"
#include "owcore/redis/protocol/cluster_slots.hpp"
#include "owcore/redis/protocol/request.hpp"
#include "owcore/redis/protocol/resp.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace owcore::redis {

/// What happened since the last action (the shell's report).
struct cluster_event {
  enum class kind {
    start,      ///< the request is about to be executed
    no_route,   ///< send{target ""}: the slot map names no node for the request's slot
    replied,    ///< send: the node connection completed with `ec` and `replies`
    refreshed,  ///< refresh_slots finished (successfully or not)
    updated,    ///< update_slot was applied
    slept,      ///< sleep finished
  };
  kind type = kind::start;
  std::chrono::steady_clock::time_point now{};
  boost::system::error_code ec;             ///< replied
  const response* replies = nullptr;        ///< replied (may be null when `ec` is set)
  std::string_view target;                  ///< replied: the node it was sent to ("host:port")
  bool client_stopped = false;              ///< replied: the cluster client itself is stopping
};

/// What the shell must do next.
struct cluster_action {
  enum class kind {
    send,           ///< send the request to `target` ("" = the slot map's node for its slot),
                    ///< with ASKING before each command when `asking`
    refresh_slots,  ///< re-read the slot map (`force`: even if it was read a moment ago)
    update_slot,    ///< MOVED: the map entry of `slot` is now `target`; refresh in the background
    sleep,          ///< wait `delay`
    done,           ///< finished: hand the last replies to the caller, with `ec` when set
  };
  kind type = kind::done;
  std::string target;
  bool asking = false;
  bool force = false;
  std::uint16_t slot = 0;
  std::chrono::milliseconds delay{0};
  boost::system::error_code ec;  ///< done: the error replacing the last outcome's, or clear
};

/// Limits of one execution.
struct cluster_exec_options {
  int max_rounds = 80;  ///< sends (redirects, retries) before too_many_redirects
  std::chrono::milliseconds backoff_initial{50};
  std::chrono::milliseconds backoff_cap{1000};
};

/// One request's execution. Not thread-safe; one per exec call. Never sends past `deadline` (the
/// caller's queue_timeout) nor past max_rounds.
///
/// Decision table (resume(replied) with `ec` clear classifies the replies; see classify()):
///   none                      -> done
///   MOVED slot addr           -> update_slot(slot, addr), then send again (by the new map)
///   ASK slot addr             -> send(addr, asking), once; then back to the map
///   READONLY, CLUSTERDOWN     -> refresh_slots, sleep (backoff), send again
///   TRYAGAIN, LOADING, MASTERDOWN -> sleep (backoff), send again
/// With `ec` set:
///   net timeout, queue_full, stopped (a node retired by a refresh, not the client stopping):
///     never written -> refresh_slots, sleep, send again
///   anything else (unknown_outcome, stopped by the client, ...) -> done: the caller decides
/// resume(no_route): refresh_slots(force) and route again; still none -> sleep, send again.
/// Out of rounds or past the deadline: done with too_many_redirects (or the last transport
/// error, or no_route).
class cluster_exec_fsm {
 public:
  cluster_exec_fsm(std::chrono::steady_clock::time_point deadline, cluster_exec_options opts = {});

  /// Advances by one event and returns the next action.
  cluster_action resume(const cluster_event& ev);

  /// The redirect the replies ask for: the first reply's kind, but only when every reply agrees,
  /// so that a partly executed pipeline is handed back rather than re-run. Pure.
  static redirect classify(const response& replies);

  /// `req` with ASKING before each of its commands (ASKING applies to the next command only);
  /// same retry policy. Pure.
  static request with_asking(const request& req);

  /// The replies of with_asking(req) without the ASKING replies. Pure.
  static response strip_asking(response replies);

 private:
  enum class after { send, route_again, sleep_then_send };
  cluster_action next_round(std::chrono::steady_clock::time_point now);
  cluster_action send_action();
  cluster_action sleep_action();
  cluster_action done(boost::system::error_code ec);

  std::chrono::steady_clock::time_point deadline_;
  cluster_exec_options opts_;
  backoff backoff_;
  int round_ = 0;
  std::string ask_target_;
  after after_refresh_ = after::send;
  boost::system::error_code last_ec_;
  bool have_reply_ = false;
};

}  // namespace owcore::redis
