#include "owcore/app/cli.hpp"

#include "owcore/app/conformance_server.hpp"
#include "owcore/app/database_wiring.hpp"
#include "owcore/app/doctor.hpp"
#include "owcore/app/doctor_database.hpp"
#include "owcore/app/logging.hpp"
#include "owcore/app/openwebui_wiring.hpp"
#include "owcore/app/realtime_wiring.hpp"
#include "owcore/app/secret_key.hpp"
#include "owcore/app/serve.hpp"
#include "owcore/app/settings.hpp"
#include "owcore/app/startup.hpp"
#include "owcore/app/ydoc_show.hpp"
#include "owcore/base/uuid.hpp"
#include "owcore/coord/auth/authenticator.hpp"
#include "owcore/coord/auth/jwt.hpp"
#include "owcore/coord/identity/db_writes.hpp"
#include "owcore/coord/identity/identity_service.hpp"
#include "owcore/coord/readiness.hpp"
#include "owcore/coord/tasks/task_service.hpp"
#include "owcore/db/queries.hpp"
#include "owcore/http/routes.hpp"
#include "owcore/http/server.hpp"
#include "owcore/http/session_middleware.hpp"
#include "owcore/http/session_routes.hpp"
#include "owcore/http/task_routes.hpp"
#include "owcore/yjs/cli_merge.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/logger.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace owcore::app {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr std::string_view cli_usage = R"(usage: owcore <command>

commands:
  serve     run the HTTP server (configured by environment variables, see README)
  config    print the effective settings as JSON (passwords masked)
  ydoc merge [--compact]
            merge Yjs v1 updates (one JSON byte array per line on stdin) into one
  ydoc show <document_id>
            what the configured Redis holds for one document; exit 0 ok, 1 invalid,
            2 unreachable or misconfigured
  token     mint a token exactly as Open WebUI does (id, jti, iat, exp): --id ID [--expires 1h]
  user add --name NAME --email EMAIL --role admin|user [--id ID]
            add a user to owcore's own database (owcore.db) and print its id and a token
  user list list the users of owcore's own database
  conformance-server [--port 3000]
            the Engine.IO (/engine.io/) and Socket.IO (/socket.io/) reference servers the
            official conformance suites expect
  doctor    diagnose the configured Redis (add --json for machine-readable output);
            exit 0 healthy, 1 degraded, 2 unreachable or misconfigured
  version   print the version
  help      print this text

exit status: 0 ok, 1 runtime failure, 2 bad usage or configuration (including an unreachable
configured Redis or database)
)";

void pretty_print(std::ostream& os, const json::value& v, int indent = 0) {
  const std::string pad(static_cast<std::size_t>(indent + 2), ' ');
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.empty()) {
      os << "{}";
      return;
    }
    os << "{\n";
    std::size_t i = 0;
    for (const auto& [k, val] : o) {
      os << pad << json::serialize(json::value(k)) << ": ";
      pretty_print(os, val, indent + 2);
      os << (++i < o.size() ? ",\n" : "\n");
    }
    os << std::string(static_cast<std::size_t>(indent), ' ') << "}";
  } else if (v.is_array() && !v.get_array().empty()) {
    const auto& a = v.get_array();
    os << "[\n";
    for (std::size_t i = 0; i < a.size(); ++i) {
      os << pad;
      pretty_print(os, a[i], indent + 2);
      os << (i + 1 < a.size() ? ",\n" : "\n");
    }
    os << std::string(static_cast<std::size_t>(indent), ' ') << "]";
  } else {
    os << json::serialize(v);
  }
}

// Runs `body` to completion on a fresh single-threaded loop (CLI commands).
template <class T>
T run_on_loop(std::function<net::awaitable<T>(net::executor)> body) {
  asio::io_context ioc(1);
  std::optional<T> out;
  std::exception_ptr failure;
  asio::co_spawn(ioc, body(ioc.get_executor()), [&](std::exception_ptr ep, T value) {
    if (ep) failure = ep;
    else out = std::move(value);
  });
  ioc.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

// `owcore token --id ID [--expires 1h]`
int cmd_token(int argc, char** argv) {
  std::string id, expires;
  for (int i = 0; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(std::string(a) + " needs a value");
      return argv[++i];
    };
    if (a == "--id") id = value();
    else if (a == "--expires") expires = value();
    else if (a == "--name" || a == "--role")
      throw std::invalid_argument(
          std::string(a) + " is gone: names and roles come from the database, not the token");
    else throw std::invalid_argument("unknown option " + std::string(a));
  }
  if (id.empty() || !coord::auth::check_claim_text(id))
    throw std::invalid_argument("--id is required (no spaces)");
  settings s = load_settings(process_env());
  init_logging(s.log_format, s.log_level);
  if (expires.empty()) expires = s.jwt_expires_in;
  auto d = coord::auth::parse_duration(expires);
  if (!d.ok)
    throw std::invalid_argument("--expires: '" + expires +
                                "' is not a duration like 1h, 30m, 4w or -1");
  auto key = resolve_secret_key(s.webui_secret_key, s.data_dir);
  if (!key.error.empty()) {
    std::cerr << "owcore: WEBUI_SECRET_KEY: " << key.error << "\n";
    return exit_config;
  }
  coord::auth::authenticator auth(key.value, coord::auth::make_memory_revocations());
  std::cout << auth.mint(id, d.value) << "\n";
  return exit_ok;
}

// `owcore user add ...` / `owcore user list`: owcore's own database only.
int cmd_user(int argc, char** argv) {
  if (argc < 1) throw std::invalid_argument("user needs a subcommand: add or list");
  const std::string_view sub = argv[0];
  std::string name, email, role, id;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(std::string(a) + " needs a value");
      return argv[++i];
    };
    if (sub == "add" && a == "--name") name = value();
    else if (sub == "add" && a == "--email") email = value();
    else if (sub == "add" && a == "--role") role = value();
    else if (sub == "add" && a == "--id") id = value();
    else throw std::invalid_argument("unknown option " + std::string(a));
  }
  if (sub != "add" && sub != "list")
    throw std::invalid_argument("unknown user subcommand " + std::string(sub));
  if (sub == "add") {
    if (name.empty()) throw std::invalid_argument("--name is required");
    if (email.empty() || email.find('@') == std::string::npos)
      throw std::invalid_argument("--email needs an address");
    if (role != "admin" && role != "user")
      throw std::invalid_argument("--role must be admin or user");
    if (id.empty()) id = base::uuid4();
    if (!coord::auth::check_claim_text(id)) throw std::invalid_argument("--id must have no spaces");
  }
  settings s = load_settings(process_env());
  init_logging(s.log_format, s.log_level);
  for (const auto& e : s.errors) {
    std::cerr << "owcore: " << e.variable << ": " << e.message << "\n";
    return exit_config;
  }
  auto planned = plan_database(s);
  if (auto* e = std::get_if<startup_error>(&planned)) {
    std::cerr << "owcore: " << e->line() << "\n";
    return exit_config;
  }
  auto plan = std::get<database_plan>(std::move(planned));
  auto key = resolve_secret_key(s.webui_secret_key, s.data_dir);
  if (sub == "add" && !key.error.empty()) {
    std::cerr << "owcore: WEBUI_SECRET_KEY: " << key.error << "\n";
    return exit_config;
  }
  return run_on_loop<int>([&](net::executor ex) -> net::awaitable<int> {
    auto opened = co_await open_database(ex, plan);
    if (auto* e = std::get_if<startup_error>(&opened)) {
      std::cerr << "owcore: " << e->line() << "\n";
      co_return exit_config;
    }
    auto& o = std::get<opened_database>(opened);
    if (!o.schema.owned) {
      std::cerr << "owcore: " << plan.variable << ": " << plan.display
                << " is Open WebUI's database; owcore never writes users there. Manage users in "
                   "Open WebUI, "
                   "or unset DATABASE_URL to use owcore's own database.\n";
      o.db->stop();
      co_return exit_config;
    }
    int status = exit_ok;
    if (sub == "list") {
      auto users = co_await db::list_users(*o.db);
      if (!users) {
        std::cerr << "owcore: " << users.error().message() << "\n";
        status = exit_failure;
      } else {
        for (const auto& u : *users)
          std::cout << u.id << "\t" << u.role << "\t" << u.email << "\t" << u.name << "\n";
      }
    } else {
      db::user_row u;
      u.id = id;
      u.email = email;
      u.name = name;
      u.role = role;
      u.created_at = coord::identity::now_seconds();
      auto inserted = co_await db::insert_user(*o.db, u);
      if (!inserted) {
        std::cerr << "owcore: cannot add the user: " << inserted.error().message() << "\n";
        status = exit_failure;
      } else {
        auto d = coord::auth::parse_duration(s.jwt_expires_in);
        coord::auth::authenticator auth(key.value, coord::auth::make_memory_revocations());
        std::cout << "id: " << id << "\n"
                  << "token: "
                  << auth.mint(id, d.ok ? d.value : std::optional<std::chrono::seconds>{}) << "\n";
      }
    }
    o.db->stop();
    co_return status;
  });
}

int cmd_config() {
  settings s = load_settings(process_env());
  init_logging(s.log_format, "CRITICAL");
  auto j = to_json(s);
  // The database as it is now: kind, location (password masked), schema head, latency; bounded by
  // OWCORE_DB_CONNECT_TIMEOUT. Nothing is created or written.
  j["database"] =
      database_json(run_on_loop<database_report>([&](net::executor) { return check_database(s); }));
  pretty_print(std::cout, j);
  std::cout << "\n";
  return s.errors.empty() ? exit_ok : exit_config;
}

}  // namespace

int run_cli(int argc, char** argv, const realtime::profiles::registry& profiles) {
  const std::string_view cmd = argc > 1 ? argv[1] : "help";
  try {
    if (cmd == "serve") return serve(profiles);
    if (cmd == "config") return cmd_config();
    if (cmd == "doctor") return run_doctor(argc - 2, argv + 2);
    if (cmd == "conformance-server") return run_conformance_server(argc - 2, argv + 2, profiles);
    if (cmd == "ydoc" && argc > 2 && std::string_view(argv[2]) == "show")
      return run_ydoc_show(argc - 3, argv + 3);
    if (cmd == "ydoc" && argc > 2 && std::string_view(argv[2]) == "merge") {
      bool compact = false;
      for (int i = 3; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--compact") compact = true;
        else {
          std::cerr << "usage: owcore ydoc merge [--compact] < updates\n";
          return exit_config;
        }
      }
      return yjs::run_ydoc_merge(std::cin, std::cout, std::cerr, compact);
    }
    if (cmd == "user") {
      try {
        return cmd_user(argc - 2, argv + 2);
      } catch (const std::invalid_argument& e) {
        std::cerr
            << "owcore user: " << e.what() << "\n"
            << "usage: owcore user add --name NAME --email EMAIL --role admin|user [--id ID]\n"
            << "       owcore user list\n";
        return exit_config;
      }
    }
    if (cmd == "token") {
      try {
        return cmd_token(argc - 2, argv + 2);
      } catch (const std::invalid_argument& e) {
        std::cerr << "owcore token: " << e.what() << "\n"
                  << "usage: owcore token --id ID [--expires 1h]\n";
        return exit_config;
      }
    }
    if (cmd == "version" || cmd == "--version") {
      std::cout << "owcore " << OWCORE_VERSION << "\n";
      return exit_ok;
    }
    if (cmd == "help" || cmd == "--help" || cmd == "-h") {
      std::cout << cli_usage;
      return exit_ok;
    }
  } catch (const std::exception& e) {
    std::cerr << "owcore: " << e.what() << "\n";
    return exit_failure;
  }
  std::cerr << "owcore: unknown command '" << cmd << "'\n" << cli_usage;
  return exit_config;
}

}  // namespace owcore::app
