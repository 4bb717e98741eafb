#pragma once
// A supervised pub/sub subscriber on its own connection (RESP2 cannot mix pushes and replies): a
// thin Asio shell (docs/redis.md) over protocol/subscription_tracker (what is wanted, the
// re-subscribe commands, what each received reply is) and io/supervisor (resolve, connect,
// set-up, reconnect with backoff). It re-subscribes everything after every reconnect, and PINGs
// after silence so that a connection that is open but no longer delivering is replaced.

#include "owcore/net/executor.hpp"
#include "owcore/redis/io/supervisor.hpp"
#include "owcore/redis/protocol/resp.hpp"
#include "owcore/redis/protocol/subscription_tracker.hpp"
#include "owcore/redis/url.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace owcore::redis {

/// Called on the subscriber's strand for every message, in arrival order. It must not block; a
/// slow consumer should hand the message to its own bounded queue.
using message_handler = std::function<void(const message&)>;

/// Options of a subscriber.
struct subscriber_options {
  url_config node;                 ///< address (unless `resolve` is set), TLS, AUTH
  address_resolver resolve;        ///< asked before every connect (Sentinel master, Cluster node)
  std::chrono::steady_clock::duration connect_timeout = std::chrono::seconds(5);
  /// A PING is sent after this much silence; no answer within another interval = dead.
  std::chrono::steady_clock::duration ping_interval = std::chrono::seconds(5);
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_cap{5000};
  std::size_t max_reply_bytes = reply_parser::default_max_buffered;
  message_handler on_message;
  /// Called on the strand after every successful (re)subscription; `reconnects` counts drops.
  std::function<void(std::uint64_t reconnects)> on_subscribed;
  /// Called on the strand with the text of an error reply to a (P|S)SUBSCRIBE, e.g. "NOPERM ..."
  /// when an ACL forbids a channel or pattern. Returning true keeps the connection (the owner
  /// has dealt with it, e.g. by punsubscribe() of the refused pattern); false, or no handler,
  /// drops the connection and reconnects with backoff.
  std::function<bool(const std::string& error)> on_error;
  std::shared_ptr<spdlog::logger> log;
  std::string log_name = "redis subscriber";
  client_metrics* metrics = nullptr;  ///< the owning client's counters; null = none
};

/// A supervised subscriber. Create with make_shared, add subscriptions, `start()`. Thread-safe:
/// every public member may be called from any thread.
class subscriber : public std::enable_shared_from_this<subscriber>, private io::supervised {
 public:
  subscriber(net::executor ex, subscriber_options opts);
  ~subscriber() override;

  /// Starts connecting now (subscribers start at start-up, never lazily).
  void start();
  /// Closes the connection for good.
  void stop();
  /// Forces a reconnect (e.g. after a Sentinel +switch-master).
  void reconnect_now();

  /// Adds a channel (SUBSCRIBE), pattern (PSUBSCRIBE) or shard channel (SSUBSCRIBE, Cluster).
  /// Takes effect at once when connected and survives every reconnect.
  void subscribe(std::string channel);
  void psubscribe(std::string pattern);
  void ssubscribe(std::string channel);
  /// Removes a channel or shard channel (UNSUBSCRIBE / SUNSUBSCRIBE when connected).
  void unsubscribe(std::string channel);
  /// Replaces subscriber_options::on_error (for subscribers a client made); call before start().
  void set_error_handler(std::function<bool(const std::string& error)> handler);
  /// Removes a pattern (PUNSUBSCRIBE when connected); it is not re-subscribed after a reconnect.
  void punsubscribe(std::string pattern);

  /// True while subscribed on a live connection (thread-safe snapshot).
  bool subscribed() const noexcept { return subscribed_.load(); }
  /// Number of connections lost so far (thread-safe).
  std::uint64_t drops() const noexcept { return drops_.load(); }

 private:
  void add(subscription_kind k, std::string name);
  void remove(subscription_kind k, const std::string& name);
  void wake_writer();
  net::awaitable<void> run();
  net::awaitable<boost::system::error_code> serve() override;
  void on_lost(boost::system::error_code why) override;
  net::awaitable<boost::system::error_code> writer();
  net::awaitable<boost::system::error_code> reader();
  net::awaitable<boost::system::error_code> watchdog();
  bool handle(reply r);
  void mark_subscribed();

  net::executor strand_;  ///< net::make_strand
  subscriber_options opts_;
  io::supervisor sup_;
  subscription_tracker tracker_;
  std::string out_;            ///< bytes waiting for the writer
  std::string writing_;
  boost::asio::steady_timer writer_cv_;
  bool ping_outstanding_ = false;
  bool connected_ = false;
  bool stopped_ = false;
  bool resubscribe_logged_ = false;
  std::atomic<bool> subscribed_{false};
  std::atomic<std::uint64_t> drops_{0};
};

}  // namespace owcore::redis
