#include "owcore/app/ydoc_show.hpp"

#include "owcore/app/cli.hpp"
#include "owcore/app/logging.hpp"
#include "owcore/app/settings.hpp"
#include "owcore/app/startup.hpp"
#include "owcore/coord/ydoc/document_store.hpp"
#include "owcore/coord/ydoc/keys.hpp"
#include "owcore/redis/error.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include <iostream>
#include <optional>
#include <string>
#include <string_view>

namespace owcore::app {
namespace {

namespace asio = boost::asio;
namespace ydoc = coord::ydoc;

constexpr std::string_view ydoc_show_usage = R"(usage: owcore ydoc show <document_id>

Shows what the configured Redis holds for one collaborative document: the number of stored
updates, their total size, the Socket.IO sids present, the merged state's size and any stored
update that fails validation. The id may be given as the client sends it (note:<id>) or as
stored (note_<id>). Reads the WS Redis when WEBSOCKET_MANAGER=redis, else the App Redis.

exit status: 0 ok, 1 some stored update is invalid, 2 bad usage, configuration or unreachable Redis
)";

struct outcome {
  std::optional<startup_error> unreachable;
  boost::system::error_code ec;
  ydoc::document_report report;
};

net::awaitable<outcome> inspect(redis_target target, std::string prefix, std::string document_id) {
  outcome out;
  redis_plan probe_plan;
  probe_plan.app = target;
  if (auto failure = co_await check_redis(probe_plan)) {
    out.unreachable = std::move(failure);
    co_return out;
  }
  auto opts = target.options;
  opts.log = get_logger("redis");
  // A one-shot command: do not wait a whole failover for a connection.
  opts.queue_timeout = opts.connect_timeout * 2;
  auto client = redis::make_client(co_await asio::this_coro::executor, std::move(opts));
  client->start();
  // No logger: invalid elements are part of the report, not warnings.
  auto store = ydoc::make_redis_document_store(coord::redis_backend{client, prefix}, {});
  auto rep = co_await store->inspect(document_id);
  client->stop();
  if (rep)
    out.report = std::move(*rep);
  else
    out.ec = rep.error();
  co_return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& e : v) {
    if (!s.empty()) s += ", ";
    s += e;
  }
  return s;
}

}  // namespace

int run_ydoc_show(int argc, char** argv) {
  std::string document_id;
  for (int i = 0; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << ydoc_show_usage;
      return exit_ok;
    }
    if (!document_id.empty() || a.empty() || (a.starts_with("-") && a != "-")) {
      std::cerr << "owcore ydoc show: unexpected argument '" << a << "'\n" << ydoc_show_usage;
      return exit_config;
    }
    document_id = a;
  }
  if (document_id.empty()) {
    std::cerr << ydoc_show_usage;
    return exit_config;
  }
  if (document_id.size() > ydoc::max_id_size) {
    std::cerr << "owcore ydoc show: the document id is longer than " << ydoc::max_id_size << " bytes\n";
    return exit_config;
  }

  const settings s = load_settings(process_env());
  init_logging(s.log_format, s.log_level);
  if (!s.errors.empty()) {
    for (const auto& e : s.errors) std::cerr << "owcore ydoc show: " << e.variable << ": " << e.message << "\n";
    return exit_config;
  }
  auto planned = plan_redis(s);
  if (auto* e = std::get_if<startup_error>(&planned)) {
    std::cerr << "owcore ydoc show: " << e->line() << "\n";
    return exit_config;
  }
  auto plan = std::get<redis_plan>(std::move(planned));

  std::optional<redis_target> target;
  std::string which;
  if (plan.ws) {
    target = plan.ws;
    which = "WS Redis (WEBSOCKET_MANAGER=redis: Open WebUI's YdocManager stores documents through the "
            "WebSocket client)";
  } else if (plan.app) {
    target = plan.app;
    which = "App Redis (WEBSOCKET_MANAGER is not redis, so Open WebUI keeps documents in each "
            "instance's memory and this Redis normally holds none)";
  } else {
    std::cerr << "owcore ydoc show: no Redis is configured (REDIS_URL is empty and WEBSOCKET_MANAGER is "
                 "not redis): documents live in each instance's memory\n";
    return exit_config;
  }

  asio::io_context ioc(1);
  std::optional<outcome> result;
  std::exception_ptr failure;
  asio::co_spawn(ioc, inspect(*target, s.key_prefix, document_id), [&](std::exception_ptr ep, outcome o) {
    failure = ep;
    if (!ep) result = std::move(o);
  });
  ioc.run();
  if (failure || !result) {
    try {
      if (failure) std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::cerr << "owcore ydoc show: " << e.what() << "\n";
    }
    return exit_config;
  }
  if (result->unreachable) {
    std::cerr << "owcore ydoc show: " << result->unreachable->line() << "\n";
    return exit_config;
  }
  const std::string updates_key = ydoc::keys::updates(s.key_prefix, document_id);
  if (result->ec) {
    if (result->ec == redis::error::server_error || result->ec == ydoc::error::unexpected_reply) {
      std::cerr << "owcore ydoc show: Redis refused to read " << updates_key
                << " as a list (does the key hold another type?): " << result->ec.message() << "\n";
      return exit_failure;
    }
    std::cerr << "owcore ydoc show: " << target->variable << ": Redis ("
              << redis::to_string(target->options.topo) << ") did not answer: " << result->ec.message() << "\n";
    return exit_config;
  }

  const auto& r = result->report;
  auto& os = std::cout;
  os << "document:      " << document_id << "\n"
     << "storage id:    " << r.storage_id << "\n"
     << "redis:         " << which << ", " << redis::to_string(target->options.topo) << ", configured by "
     << target->variable << "\n"
     << "key:           " << updates_key << "\n";
  if (!r.exists) {
    os << "elements:      0 (no stored updates: the document is empty or was cleared)\n";
  } else {
    os << "elements:      " << r.elements << "\n"
       << "total bytes:   " << r.update_bytes << " bytes of updates (" << r.stored_bytes
       << " bytes of stored JSON text)\n";
  }
  os << "users:         " << r.users.size();
  if (!r.users.empty()) os << " (" << join(r.users) << ")";
  os << "\n";
  os << "merged state:  " << r.state_bytes << " bytes";
  if (r.state_bytes == 2) os << " ([0, 0]: an empty document)";
  os << "\n";
  if (r.invalid.empty()) {
    os << "invalid:       none\n";
  } else {
    const bool one = r.invalid.size() == 1;
    os << "invalid:       " << r.invalid.size() << " stored update" << (one ? " fails" : "s fail")
       << " validation (owcore skips " << (one ? "it" : "them") << " and moves " << (one ? "it" : "them")
       << " aside when a compaction reaches " << (one ? "it" : "them")
       << "; Python instances fail joins and compactions on " << (one ? "it" : "them") << ")\n";
    for (const auto& e : r.invalid) os << "  #" << e.index << ": " << e.reason << "\n";
  }
  if (r.rejected > 0)
    os << "moved aside:   " << r.rejected << " invalid update" << (r.rejected == 1 ? "" : "s")
       << " removed by earlier compactions, kept in " << ydoc::keys::rejected(s.key_prefix, document_id) << "\n";
  os.flush();
  return r.invalid.empty() ? exit_ok : exit_failure;
}

}  // namespace owcore::app
