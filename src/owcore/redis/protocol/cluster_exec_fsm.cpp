#include "owcore/redis/protocol/cluster_exec_fsm.hpp"

#include "owcore/net/error.hpp"
#include "owcore/redis/error.hpp"
#include "owcore/redis/protocol/address.hpp"

namespace owcore::redis {

using boost::system::error_code;

cluster_exec_fsm::cluster_exec_fsm(std::chrono::steady_clock::time_point deadline,
                                   cluster_exec_options opts)
    : deadline_(deadline), opts_(opts), backoff_(opts.backoff_initial, opts.backoff_cap) {}

redirect cluster_exec_fsm::classify(const response& replies) {
  redirect first;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    redirect r = replies[i].is_error() ? classify_error(replies[i].str) : redirect{};
    if (i == 0) first = std::move(r);
    else if (r.type != first.type) return redirect{};
  }
  return first;
}

request cluster_exec_fsm::with_asking(const request& req) {
  request out;
  for (const auto& c : req.commands()) {
    out.push("ASKING");
    out.push(c);
  }
  out.idempotent(req.policy() == retry_policy::idempotent);
  return out;
}

response cluster_exec_fsm::strip_asking(response replies) {
  response out;
  out.reserve(replies.size() / 2);
  for (std::size_t i = 1; i < replies.size(); i += 2) out.push_back(std::move(replies[i]));
  return out;
}

cluster_action cluster_exec_fsm::done(error_code ec) {
  cluster_action a;
  a.type = cluster_action::kind::done;
  a.ec = ec;
  return a;
}

cluster_action cluster_exec_fsm::send_action() {
  cluster_action a;
  a.type = cluster_action::kind::send;
  a.target = std::move(ask_target_);
  a.asking = !a.target.empty();
  ask_target_.clear();
  return a;
}

cluster_action cluster_exec_fsm::sleep_action() {
  cluster_action a;
  a.type = cluster_action::kind::sleep;
  a.delay = backoff_.next();
  return a;
}

cluster_action cluster_exec_fsm::next_round(std::chrono::steady_clock::time_point now) {
  if (++round_ >= opts_.max_rounds || now >= deadline_) {
    // A clean last reply that still asked for a redirect: the budget is spent.
    if (!last_ec_ && have_reply_) return done(error::too_many_redirects);
    return done(last_ec_ ? last_ec_ : make_error_code(error::too_many_redirects));
  }
  return send_action();
}

cluster_action cluster_exec_fsm::resume(const cluster_event& ev) {
  using k = cluster_event::kind;
  switch (ev.type) {
    case k::start:
      if (ev.now >= deadline_) return done(error::no_route);
      return send_action();

    case k::no_route:
      if (after_refresh_ == after::route_again) {
        // Routed again after a forced refresh and still nothing: wait, then a new round.
        after_refresh_ = after::send;
        last_ec_ = error::no_route;
        have_reply_ = false;
        return sleep_action();
      }
      after_refresh_ = after::route_again;
      {
        cluster_action a;
        a.type = cluster_action::kind::refresh_slots;
        a.force = true;
        return a;
      }

    case k::refreshed:
      if (after_refresh_ == after::route_again) return send_action();
      if (after_refresh_ == after::sleep_then_send) {
        after_refresh_ = after::send;
        return sleep_action();
      }
      return next_round(ev.now);

    case k::updated:
    case k::slept:
      return next_round(ev.now);

    case k::replied:
      break;
  }

  after_refresh_ = after::send;
  if (ev.ec) {
    last_ec_ = ev.ec;
    have_reply_ = false;
    // `stopped` from a node connection (not from the client) means a refresh retired it before
    // the request was written; timeout and queue_full also mean "never written".
    const bool rerouted = ev.ec == error::stopped && !ev.client_stopped;
    if (ev.ec == net::error::timeout || ev.ec == error::queue_full || rerouted) {
      after_refresh_ = after::sleep_then_send;
      cluster_action a;
      a.type = cluster_action::kind::refresh_slots;
      return a;
    }
    return done({});  // written (unknown_outcome), or stopped: the caller decides
  }
  last_ec_.clear();
  have_reply_ = true;
  static const response none;
  auto verdict = classify(ev.replies ? *ev.replies : none);
  const auto replying_host = [&] {
    auto a = address::parse(ev.target);
    return a ? a->host : std::string{};
  };
  switch (verdict.type) {
    case redirect::kind::none:
      return done({});
    case redirect::kind::moved: {
      cluster_action a;
      a.type = cluster_action::kind::update_slot;
      a.slot = verdict.slot;
      a.target = resolve_address(verdict.address, replying_host());
      return a;
    }
    case redirect::kind::ask: {
      ask_target_ = resolve_address(verdict.address, replying_host());
      if (++round_ >= opts_.max_rounds || ev.now >= deadline_) return done(error::too_many_redirects);
      return send_action();
    }
    case redirect::kind::readonly:
    case redirect::kind::clusterdown: {
      after_refresh_ = after::sleep_then_send;
      cluster_action a;
      a.type = cluster_action::kind::refresh_slots;
      return a;
    }
    case redirect::kind::tryagain:
    case redirect::kind::loading:
    case redirect::kind::masterdown:
      return sleep_action();
  }
  return done({});
}

}  // namespace owcore::redis
