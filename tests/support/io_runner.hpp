// An io_context on two threads (like `owcore serve` on two cores) for integration tests that drive
// owcore's coroutines. Header-only: it needs Asio and owcore's net aliases, which the test
// executables link, while the support library itself stays free of them.
#pragma once

#include "owcore/net/executor.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

namespace owcore::test {

/// Runs coroutines on a private two-thread io_context. `run` waits at most `limit` (default: the
/// constructor's) and throws std::runtime_error("coroutine timed out") after it, so no test hangs.
/// The destructor stops the context and joins the threads. Not copyable.
class io_runner {
 public:
  explicit io_runner(std::chrono::seconds default_limit = std::chrono::seconds(60)) : limit_(default_limit) {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io.run(); });
  }
  ~io_runner() {
    guard_.reset();
    io.stop();
    for (auto& t : threads_) t.join();
  }
  io_runner(const io_runner&) = delete;
  io_runner& operator=(const io_runner&) = delete;

  template <class T>
  T run(net::awaitable<T> a) {
    return run(std::move(a), limit_);
  }
  template <class T>
  T run(net::awaitable<T> a, std::chrono::seconds limit) {
    auto fut = boost::asio::co_spawn(io, std::move(a), boost::asio::use_future);
    if (fut.wait_for(limit) != std::future_status::ready) throw std::runtime_error("coroutine timed out");
    return fut.get();
  }

  boost::asio::io_context io{2};

 private:
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{io.get_executor()};
  std::vector<std::thread> threads_;
  std::chrono::seconds limit_;
};

}  // namespace owcore::test
