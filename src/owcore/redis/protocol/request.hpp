#pragma once
// Requests: one command or a pipeline of commands sent together, with the keys each command
// touches marked so that Cluster routing and cross-slot checks need no command table.

#include "owcore/redis/protocol/resp.hpp"

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace owcore::redis {

/// Marks a command argument as a key (`req.push("GET", key(k))`).
struct key {
  std::string_view name;
  explicit key(std::string_view k) noexcept : name(k) {}
};

/// One command: its arguments and which of them are keys.
struct command {
  std::vector<std::string> args;
  std::vector<std::size_t> key_indexes;  ///< indexes into `args`
  /// Cluster only: when non-empty, the command is routed (and cross-slot checked) as if it
  /// touched this key instead of its `key_indexes`; it is never sent. For keyless commands that
  /// must reach a chosen node, e.g. the PUBLISHes of several channels kept in order on one node.
  std::string route_as;
};

/// What may happen when the connection drops after a request was written but before its reply.
enum class retry_policy {
  /// Fail the request with error::unknown_outcome (the default for writes): the caller decides.
  never_after_write,
  /// The request may be sent again (reads, idempotent writes such as SET of a fixed value).
  idempotent,
};

/// One command as views into the caller's storage: the allocation-free form of a one-command
/// request (client::exec_view, docs/redis.md "Performance"). Nothing is copied: `args` (and the
/// bytes they view) must stay valid until the command completes or is cancelled.
struct command_view {
  std::span<const std::string_view> args;  ///< the command name first
  std::size_t key_index = 0;               ///< index of the key in `args`; 0 = keyless
  retry_policy policy = retry_policy::never_after_write;
};

/// A pipeline of commands executed in order on one node, answered by one reply per command.
/// A value type; build it, then hand it to a client. Not thread-safe while being built.
class request {
 public:
  /// Appends a command. Arguments may be strings, string_views, integers or `key(...)`.
  template <class... Args>
  request& push(std::string_view name, Args&&... args) {
    command c;
    c.args.reserve(1 + sizeof...(args));
    c.args.emplace_back(name);
    (append(c, std::forward<Args>(args)), ...);
    cmds_.push_back(std::move(c));
    return *this;
  }

  /// Appends a command built elsewhere.
  request& push(command c) {
    cmds_.push_back(std::move(c));
    return *this;
  }

  /// Appends `EVAL script numkeys keys... args...` with the keys marked.
  request& eval(std::string_view script, const std::vector<std::string>& keys,
                const std::vector<std::string>& args);

  const std::vector<command>& commands() const noexcept { return cmds_; }
  std::size_t size() const noexcept { return cmds_.size(); }
  bool empty() const noexcept { return cmds_.empty(); }

  retry_policy policy() const noexcept { return policy_; }
  /// Declares the request safe to send twice (see retry_policy::idempotent).
  request& idempotent(bool yes = true) noexcept {
    policy_ = yes ? retry_policy::idempotent : retry_policy::never_after_write;
    return *this;
  }

  /// Every key of every command, in order (for routing and cross-slot errors).
  std::vector<std::string_view> keys() const;

  /// Appends the RESP encoding of every command to `out`.
  void encode(std::string& out) const;

  /// A request holding a copy of `cmd` (for paths that need an owning request).
  static request from(const command_view& cmd);

 private:
  static void append(command& c, key k) {
    c.key_indexes.push_back(c.args.size());
    c.args.emplace_back(k.name);
  }
  static void append(command& c, std::string_view s) { c.args.emplace_back(s); }
  static void append(command& c, const std::string& s) { c.args.emplace_back(s); }
  static void append(command& c, const char* s) { c.args.emplace_back(s); }
  template <class I>
    requires std::is_integral_v<std::decay_t<I>>
  static void append(command& c, I v) {
    c.args.emplace_back(std::to_string(v));
  }

  std::vector<command> cmds_;
  retry_policy policy_ = retry_policy::never_after_write;
};

/// The replies to a request, one per command, in order. Server error replies are values here.
using response = std::vector<reply>;

}  // namespace owcore::redis
