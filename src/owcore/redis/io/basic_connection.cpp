#include "owcore/redis/io/basic_connection.hpp"

#include "owcore/net/timeout.hpp"
#include "owcore/redis/io/node_setup.hpp"

namespace owcore::redis {

using boost::system::error_code;
using clock = std::chrono::steady_clock;

basic_connection::basic_connection(net::executor ex) : stream_(std::move(ex)) {}

net::awaitable<error_info> basic_connection::open(const net::connect_options& opts,
                                                  const credentials& auth, int db,
                                                  std::string_view client_name) {
  setup_options setup;
  setup.auth = auth;
  setup.db = db;
  setup.client_name = std::string(client_name);
  co_return co_await open(opts, std::move(setup));
}

net::awaitable<error_info> basic_connection::open(const net::connect_options& opts,
                                                  setup_options setup) {
  parser_ = reply_parser();
  peer_ = io::peer_name(opts);
  const auto step = opts.timeout > clock::duration::zero() ? opts.timeout : std::chrono::seconds(5);
  co_return co_await io::open_node(stream_, parser_, read_buf_, opts, setup, step);
}

net::awaitable<std::pair<error_code, reply>> basic_connection::exec(std::vector<std::string> args,
                                                                    clock::duration timeout) {
  std::string out;
  std::vector<std::string_view> views(args.begin(), args.end());
  encode_command(out, views);
  response replies;
  auto op = io::round_trip(stream_, parser_, read_buf_, out, 1, replies);
  auto ec = co_await net::with_timeout(std::move(op), timeout);
  if (ec) stream_.close();
  reply r;
  if (!ec && !replies.empty()) r = std::move(replies.front());
  co_return std::pair{ec, std::move(r)};
}

}  // namespace owcore::redis
