#pragma once
// Builders of RESP reply values for the Redis protocol unit tests (what a server would answer).
#include "owcore/redis/protocol/resp.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace test_replies {

using owcore::redis::reply;

inline reply make(reply::kind k, std::string s = {}) {
  reply r;
  r.type = k;
  r.str = std::move(s);
  return r;
}
inline reply str(std::string s) { return make(reply::kind::string, std::move(s)); }
inline reply status(std::string s) { return make(reply::kind::status, std::move(s)); }
inline reply err(std::string s) { return make(reply::kind::error, std::move(s)); }
inline reply integer(std::int64_t v) {
  reply r = make(reply::kind::integer);
  r.integer = v;
  return r;
}
inline reply arr(std::vector<reply> e) {
  reply r = make(reply::kind::array);
  r.elements = std::move(e);
  return r;
}

}  // namespace test_replies
