#include "owcore/net/listener.hpp"

#include "owcore/net/error.hpp"

namespace owcore::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

boost::system::result<tcp::acceptor> open_acceptor(executor ex, const std::string& host,
                                                   std::uint16_t port, int backlog) {
  error_code ec;
  tcp::resolver resolver(ex);
  auto results = resolver.resolve(host, std::to_string(port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec) return ec;
  if (results.empty()) return make_error_code(error::resolve_failed);
  for (const auto& entry : results) {
    tcp::acceptor acceptor(ex);
    auto ep = entry.endpoint();
    acceptor.open(ep.protocol(), ec);
    if (ec) continue;
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    acceptor.bind(ep, ec);
    if (ec) continue;
    acceptor.listen(backlog, ec);
    if (ec) continue;
    return acceptor;
  }
  return ec;
}

}  // namespace owcore::net
