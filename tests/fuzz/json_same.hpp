#pragma once
// Equality of JSON values for the fuzz targets' properties: boost::json's ==, except that NaN
// equals NaN (Python's JSON may carry NaN, and a value that survives as NaN is unchanged).
#include <boost/json/value.hpp>

#include <cstddef>

namespace fuzz {

namespace json = boost::json;

// Equal as JSON values, NaN equal to NaN (a column may hold NaN; it survives as NaN).
inline bool same(const json::value& a, const json::value& b) {
  if (a.is_double() && b.is_double() && a.get_double() != a.get_double()) return b.get_double() != b.get_double();
  if (a.kind() != b.kind()) return a == b;
  if (a.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!same(x[i], y[i])) return false;
    return true;
  }
  if (a.is_object()) {
    const auto& x = a.get_object();
    const auto& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& [k, v] : x)
      if (!y.contains(k) || !same(v, y.at(k))) return false;
    return true;
  }
  return a == b;
}

}  // namespace fuzz
