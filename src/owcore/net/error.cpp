#include "owcore/net/error.hpp"

#include <string>

namespace owcore::net {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "owcore.net"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::timeout: return "operation timed out";
      case error::resolve_failed: return "host name did not resolve";
      case error::tls_handshake_failed: return "TLS handshake failed";
      case error::limit_exceeded: return "limit exceeded";
      case error::shutting_down: return "shutting down";
    }
    return "unknown net error";
  }
};

}  // namespace

const boost::system::error_category& net_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace owcore::net
