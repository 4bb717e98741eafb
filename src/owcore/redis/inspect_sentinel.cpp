// The Sentinel part of the inspector (redis/inspect.hpp): every sentinel concurrently, then the
// first one that knows the service about the master, its replicas and the quorum, then the
// replicas and the master directly (Sentinel notices a dead replica only after
// down-after-milliseconds, a direct look at once).
#include "owcore/redis/inspect_detail.hpp"
#include "owcore/redis/io/gather.hpp"
#include "owcore/redis/io/node_setup.hpp"
#include "owcore/redis/protocol/info.hpp"
#include "owcore/redis/protocol/sentinel.hpp"

#include <boost/asio/this_coro.hpp>

#include <memory>

namespace owcore::redis::detail {
namespace {

struct asked {
  sentinel_answer answer;
  std::shared_ptr<basic_connection> conn;  // kept open when the sentinel knows the service
};

net::awaitable<asked> ask_sentinel(net::connect_options where, credentials auth,
                                   std::string service,
                                   std::chrono::steady_clock::duration timeout) {
  asked out;
  auto& a = out.answer;
  auto conn = std::make_shared<basic_connection>(co_await boost::asio::this_coro::executor);
  // Sentinels are contacted without the data nodes' password (as redis-py does without
  // sentinel_kwargs), with REDIS_SENTINEL_USERNAME/PASSWORD when set (docs/redis.md).
  node_inspection what;
  what.where = std::move(where);
  what.where.timeout = timeout;
  what.auth = std::move(auth);
  what.timeout = timeout;
  a.addr = io::peer_name(what.where);
  setup_options setup;
  setup.auth = what.auth;
  if (auto err = co_await conn->open(what.where, std::move(setup))) {
    a.failure = setup_step_failure(err, what);
    co_return out;
  }
  auto [ec, r] = co_await conn->exec(cmd("SENTINEL", "GET-MASTER-ADDR-BY-NAME", service), timeout);
  if (ec) {
    a.failure = {inspect_step::query, true, ec.message(), ec};
    co_return out;
  }
  if (r.is_error()) {
    a.error_reply = r.str;
    co_return out;
  }
  auto parsed = parse_master_answer(r, service, a.addr);
  if (!parsed.err) {
    a.knows_service = true;
    a.master = parsed.master.to_string();
  } else if (parsed.err.ec == error::protocol_error) {
    // A malformed port: reported as named, so the judge can say the address is malformed.
    a.knows_service = true;
    const auto& host = r.elements[0].str;
    a.master =
        (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + r.elements[1].str;
  }
  if (a.knows_service) {
    out.conn = std::move(conn);
    co_return out;
  }
  auto [mec, masters] = co_await conn->exec(cmd("SENTINEL", "MASTERS"), timeout);
  if (!mec && masters.type == reply::kind::array)
    for (const auto& m : masters.elements)
      if (auto name = map_field(m, "name")) a.known_masters.push_back(*name);
  co_return out;
}

}  // namespace

net::awaitable<sentinel_facts> inspect_sentinel(const inspect_options& o) {
  sentinel_facts f;
  const auto timeout = o.timeout;
  const auto& service = o.service_name;
  std::vector<net::awaitable<asked>> asks;
  for (const auto& a : o.sentinels)
    asks.push_back(ask_sentinel(at(o.node.connect, a), o.sentinel_auth, service, timeout));
  auto answers = co_await io::gather(std::move(asks));
  for (std::size_t i = 0; i < answers.size(); ++i) {
    f.sentinels.push_back(answers[i].answer);
    if (answers[i].answer.knows_service && !f.primary) f.primary = i;
  }
  if (!f.primary) co_return f;
  auto conn = answers[*f.primary].conn;
  answers.clear();  // closes the other sentinels' connections

  auto [mec, mstate] = co_await conn->exec(cmd("SENTINEL", "MASTER", service), timeout);
  if (!mec && !mstate.is_error()) f.master_flags = map_field(mstate, "flags").value_or("");
  auto [rec, replicas] = co_await conn->exec(cmd("SENTINEL", "REPLICAS", service), timeout);
  f.replicas_listed = !rec && replicas.type == reply::kind::array;
  if (!f.replicas_listed) {
    f.replicas_error = rec ? rec.message() : replicas.str;
  } else {
    for (const auto& r : replicas.elements) {
      sentinel_replica n;
      const auto ip = map_field(r, "ip").value_or("?");
      n.addr = (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" +
               map_field(r, "port").value_or("?");
      n.flags = map_field(r, "flags").value_or("");
      n.link_status = map_field(r, "master-link-status").value_or("");
      f.replicas.push_back(std::move(n));
    }
  }
  auto [qec, quorum] = co_await conn->exec(cmd("SENTINEL", "CKQUORUM", service), timeout);
  if (qec) {
    f.quorum_failure = qec.message();
  } else {
    f.quorum = quorum.str;
    f.quorum_refused = quorum.is_error();
  }
  conn.reset();

  std::vector<net::awaitable<node_facts>> probes;
  for (const auto& r : f.replicas) {
    const auto a = address::parse(r.addr).value_or(address{r.addr, 0});
    probes.push_back(inspect_node(data_node(o, at(o.node.connect, a), 0, 3, false)));
  }
  auto seen = co_await io::gather(std::move(probes));
  for (std::size_t i = 0; i < f.replicas.size(); ++i) f.replicas[i].seen = std::move(seen[i]);

  // Finally the master itself, with the data nodes' credentials and database.
  if (auto a = address::parse(f.sentinels[*f.primary].master))
    f.master = co_await inspect_node(data_node(o, at(o.node.connect, *a), o.node.db, 5, true));
  co_return f;
}

}  // namespace owcore::redis::detail
