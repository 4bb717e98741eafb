#include "owcore/redis/error.hpp"

#include <string>

namespace owcore::redis {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "owcore.redis"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::invalid_url: return "invalid Redis URL";
      case error::protocol_error: return "RESP protocol error";
      case error::reply_too_large: return "reply exceeds the size limit";
      case error::server_error: return "Redis replied with an error";
      case error::auth_failed: return "authentication failed";
      case error::not_master: return "node is not a master";
      case error::no_sentinel: return "no sentinel answered";
      case error::unknown_master: return "sentinels do not know the master name";
      case error::connection_closed: return "connection closed";
      case error::unknown_outcome:
        return "connection lost after the request was written; it may or may not have run";
      case error::queue_full: return "request queue is full";
      case error::stopped: return "client stopped";
      case error::cross_slot: return "keys span several hash slots";
      case error::no_route: return "no cluster node serves the slot";
      case error::too_many_redirects: return "too many cluster redirects";
      case error::unexpected_reply: return "unexpected reply from server";
      case error::out_of_memory:
        return "Redis is out of memory (maxmemory reached, noeviction policy): it refuses writes until memory frees";
      case error::no_permission: return "the Redis ACL user lacks a permission (NOPERM; owcore doctor names it)";
      case error::read_only: return "the Redis node is a read-only replica (READONLY)";
    }
    return "unknown redis error";
  }
};

}  // namespace

boost::system::error_code reply_error(std::string_view message) noexcept {
  const auto first = message.substr(0, message.find(' '));
  if (first == "OOM") return make_error_code(error::out_of_memory);
  if (first == "NOPERM") return make_error_code(error::no_permission);
  if (first == "READONLY") return make_error_code(error::read_only);
  return make_error_code(error::server_error);
}

const boost::system::error_category& redis_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace owcore::redis
