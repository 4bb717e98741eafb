#pragma once
// Internal to coord/shared: `return fail(ec);` from a function returning any
// boost::system::result<T>. Needed because result<bool> does not convert implicitly from an
// error_code (bool is constructible from one).

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace owcore::coord::shared::detail {

/// An error convertible to every result<T>.
struct failure {
  boost::system::error_code ec;
  template <class T>
  operator boost::system::result<T>() const {  // NOLINT(google-explicit-constructor)
    return boost::system::result<T>(boost::system::in_place_error, ec);
  }
};

/// Wraps `ec` for a `return` from a function returning result<T>.
inline failure fail(boost::system::error_code ec) { return failure{ec}; }

}  // namespace owcore::coord::shared::detail
