#pragma once
// Executor and coroutine aliases shared by every layer, so application classes are not templated
// on executors (that costs compile time).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace owcore::net {

/// The type-erased executor every owcore object runs on.
using executor = boost::asio::any_io_executor;

/// A coroutine returning T on an owcore executor.
template <class T = void>
using awaitable = boost::asio::awaitable<T, executor>;

/// Completion token for coroutines that want `(error_code, values...)` tuples, never exceptions
/// (errors on hot paths are values).
/// A strand on `ex`. When `ex` is an io_context executor the strand is built on that concrete
/// type, so the returned any_io_executor stores it inline (no heap allocation, no atomic
/// reference count on every copy), which matters on per-connection hot paths.
inline executor make_strand(const executor& ex) {
  if (const auto* io = ex.target<boost::asio::io_context::executor_type>()) return boost::asio::make_strand(*io);
  return boost::asio::make_strand(ex);
}

/// True when the calling thread is inside a handler of `strand` (a strand from make_strand);
/// false for any other executor.
inline bool running_in(const executor& strand) noexcept {
  if (const auto* s = strand.target<boost::asio::strand<boost::asio::io_context::executor_type>>())
    return s->running_in_this_thread();
  if (const auto* s = strand.target<boost::asio::strand<executor>>()) return s->running_in_this_thread();
  return false;
}

inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

}  // namespace owcore::net
