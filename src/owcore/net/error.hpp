#pragma once
// The `net` layer's error codes: one enum, one category.

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace owcore::net {

/// Errors raised by owcore's own networking code (OS errors keep their system category).
enum class error {
  timeout = 1,          ///< a deadline passed before the operation completed
  resolve_failed,       ///< the host name resolved to no usable address
  tls_handshake_failed, ///< the TLS handshake failed (details are logged by the caller)
  limit_exceeded,       ///< a buffer or queue reached its configured limit
  shutting_down,        ///< the operation was refused because the process is stopping
};

/// The category of `net::error`; a function-local static, safe to call from any thread.
const boost::system::error_category& net_category() noexcept;

/// Makes `net::error` values usable as `boost::system::error_code`.
inline boost::system::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), net_category()};
}

}  // namespace owcore::net

template <>
struct boost::system::is_error_code_enum<owcore::net::error> : std::true_type {};
