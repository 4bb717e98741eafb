#pragma once
// Deadlines for coroutine steps. Asio 1.81 has no `cancel_after`, so an operation is raced against
// a steady_timer with the awaitable `||` operator; the loser is cancelled through its
// cancellation slot (every network step has a timeout).

#include "owcore/net/error.hpp"
#include "owcore/net/executor.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <utility>

namespace owcore::net {

/// Runs `op` (an awaitable yielding an error_code) with a deadline of `d`. Returns the operation's
/// own error code, or `net::error::timeout` when the deadline passed first (the operation is then
/// cancelled and must tolerate it). A non-positive `d` means no deadline.
inline awaitable<boost::system::error_code> with_timeout(awaitable<boost::system::error_code> op,
                                                         std::chrono::steady_clock::duration d) {
  using namespace boost::asio::experimental::awaitable_operators;
  if (d <= std::chrono::steady_clock::duration::zero()) co_return co_await std::move(op);
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, d);
  auto winner = co_await (std::move(op) || timer.async_wait(use_tuple));
  if (winner.index() == 0) co_return std::get<0>(winner);
  co_return make_error_code(error::timeout);
}

/// Converts seconds given as a double (the unit of Open WebUI's timeout variables) to a duration;
/// non-positive values yield zero, meaning "no deadline".
inline std::chrono::steady_clock::duration seconds_to_duration(double s) noexcept {
  if (!(s > 0)) return std::chrono::steady_clock::duration::zero();
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s));
}

}  // namespace owcore::net
