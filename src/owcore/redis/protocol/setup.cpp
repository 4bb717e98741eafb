#include "owcore/redis/protocol/setup.hpp"

#include "owcore/redis/protocol/sentinel.hpp"

namespace owcore::redis {

setup_request compose_setup_request(const setup_options& opts) {
  setup_request s;
  s.db = opts.db;
  if (!opts.auth.password.empty()) {
    if (opts.auth.username.empty()) s.req.push("AUTH", opts.auth.password);
    else s.req.push("AUTH", opts.auth.username, opts.auth.password);
    s.steps.push_back(setup_step::auth);
  }
  if (opts.db != 0) {
    s.req.push("SELECT", opts.db);
    s.steps.push_back(setup_step::select);
  }
  if (!opts.client_name.empty()) {
    s.req.push("CLIENT", "SETNAME", opts.client_name);
    s.steps.push_back(setup_step::set_name);
  }
  if (opts.require_master) {
    s.req.push("ROLE");
    s.steps.push_back(setup_step::role);
  }
  if (opts.confirm && s.steps.empty()) {
    s.req.push("PING");
    s.steps.push_back(setup_step::ping);
  }
  // The set-up runs before any caller's request and is re-run after every reconnect.
  s.req.idempotent();
  return s;
}

error_info check_setup(const setup_request& setup, const response& replies,
                       std::string_view peer) {
  const std::string at(peer);
  if (replies.size() != setup.steps.size())
    return {make_error_code(error::protocol_error),
            "set-up of " + at + " got " + std::to_string(replies.size()) + " replies for " +
                std::to_string(setup.steps.size()) + " commands"};
  for (std::size_t i = 0; i < replies.size(); ++i) {
    const auto& r = replies[i];
    switch (setup.steps[i]) {
      case setup_step::auth:
        if (r.is_error())
          return {make_error_code(error::auth_failed), "AUTH to " + at + " refused: " + r.str};
        break;
      case setup_step::select:
        if (r.is_error())
          return {make_error_code(error::server_error),
                  "SELECT " + std::to_string(setup.db) + " on " + at + " refused: " + r.str};
        break;
      case setup_step::set_name:
        if (r.is_error())
          return {make_error_code(error::server_error),
                  "CLIENT SETNAME on " + at + " refused: " + r.str};
        break;
      case setup_step::role: {
        const auto role = parse_role(r);
        if (!role || role->name != "master")
          return {make_error_code(error::not_master),
                  "node " + at + " named by the sentinels is not a master (ROLE)"};
        break;
      }
      case setup_step::ping:
        if (r.is_error())
          return {make_error_code(r.str.starts_with("NOAUTH") ? error::auth_failed
                                                              : error::server_error),
                  "PING to " + at + " refused: " + r.str};
        break;
    }
  }
  return {};
}

setup_failure read_setup_failure(const error_info& e) {
  setup_failure f;
  const std::string_view d = e.detail;
  const auto refused = d.find(" refused: ");
  const auto text = refused == std::string_view::npos ? std::string_view{}
                                                      : d.substr(refused + 10);
  if (d.starts_with("cannot connect to ")) {
    f.at = setup_failure::stage::connect;
  } else if (e.ec == error::auth_failed) {
    f.at = setup_failure::stage::refused;
    f.server_text = text;
  } else if (e.ec == error::server_error && refused != std::string_view::npos) {
    f.at = setup_failure::stage::refused;
    f.step = d.starts_with("SELECT ") ? setup_step::select : setup_step::set_name;
    f.server_text = text;
  } else if (e.ec == error::not_master) {
    f.at = setup_failure::stage::refused;
    f.step = setup_step::role;
  }
  return f;
}

error_info connect_failure(std::string_view peer, boost::system::error_code ec) {
  return {ec, "cannot connect to " + std::string(peer) + ": " + ec.message()};
}

error_info setup_transport_failure(std::string_view peer, boost::system::error_code ec) {
  return {ec, "set-up of " + std::string(peer) + " failed: " + ec.message()};
}

}  // namespace owcore::redis
