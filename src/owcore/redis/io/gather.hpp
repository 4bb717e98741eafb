#pragma once
// Running a few bounded coroutines concurrently and collecting their results, for the inspector
// (redis/inspect.cpp): the sentinels of a deployment, the peers of a node.

#include "owcore/net/executor.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <vector>

namespace owcore::redis::io {

/// Runs `ops` concurrently on the current executor and returns their results in order. The ops
/// must be bounded themselves (each step with a deadline); an exception from one is rethrown after
/// all have finished. Use from one strand.
template <class T>
net::awaitable<std::vector<T>> gather(std::vector<net::awaitable<T>> ops) {
  using clock = std::chrono::steady_clock;
  struct state {
    state(net::executor ex, std::size_t n)
        : results(n), errors(n), pending(n), done(ex, clock::time_point::max()) {}
    std::vector<T> results;
    std::vector<std::exception_ptr> errors;
    std::size_t pending;
    boost::asio::steady_timer done;  // a condition variable: cancelled when the last op finishes
  };
  auto ex = co_await boost::asio::this_coro::executor;
  auto st = std::make_shared<state>(ex, ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    boost::asio::co_spawn(ex, std::move(ops[i]), [st, i](std::exception_ptr ep, T value) {
      if (ep) st->errors[i] = ep;
      else st->results[i] = std::move(value);
      if (--st->pending == 0) st->done.cancel();
    });
  }
  while (st->pending > 0) co_await st->done.async_wait(net::use_tuple);
  for (const auto& e : st->errors)
    if (e) std::rethrow_exception(e);
  co_return std::move(st->results);
}

}  // namespace owcore::redis::io
