#pragma once
// Executor and coroutine aliases shared by every layer, so application classes are not templated
// on executors (STYLE.md 18).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace owcore::net {

/// The type-erased executor every owcore object runs on.
using executor = boost::asio::any_io_executor;

/// A coroutine returning T on an owcore executor.
template <class T = void>
using awaitable = boost::asio::awaitable<T, executor>;

/// Completion token for coroutines that want `(error_code, values...)` tuples, never exceptions
/// (STYLE.md 7: errors on hot paths are values).
inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

}  // namespace owcore::net
