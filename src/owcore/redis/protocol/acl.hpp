#pragma once
// Restricted credentials (docs/redis.md, "Restricted credentials"): the one statement of what an
// ACL user must be allowed for owcore to work on a data node — the commands it sends (directly and
// from its Lua scripts), the keys under its prefix and the pub/sub channels it uses — the
// `ACL SETUSER` rule formed from it, the harmless dry run `owcore doctor` uses to find a missing
// permission, and the reading of NOPERM replies. Sans-io, pure, thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace owcore::redis::acl {

/// The commands owcore sends to data nodes while serving, in ACL spelling (lower case,
/// `container|sub` for subcommands): set-up, health checks, keys, scripts (EVAL and every command
/// its scripts call), pub/sub and Cluster routing. AUTH and HELLO need no permission.
const std::vector<std::string_view>& serve_commands();

/// The read-only commands `owcore doctor` adds: INFO, CLUSTER INFO/NODES, and MULTI/DISCARD for
/// its dry run (nothing queued is ever executed).
const std::vector<std::string_view>& doctor_commands();

/// The key pattern for `prefix` ("~<prefix>:*", glob characters of the prefix escaped).
std::string key_pattern(std::string_view prefix);

/// The channel patterns for `prefix`: "&<prefix>:*" (the task stop channel), "&socketio"
/// (python-socketio's channel) and "&socketio#*" (Open WebUI 0.11.5 room channels).
std::vector<std::string> channel_patterns(std::string_view prefix);

/// The rule for `prefix`, as ACL SETUSER arguments after the user name (without `on` and the
/// password): "resetkeys resetchannels -@all ~P:* &P:* &socketio &socketio#* +ping +select ...".
std::vector<std::string> rule(std::string_view prefix);

/// `rule(prefix)` joined by spaces, prefixed "ACL SETUSER <user> on >PASSWORD " — for operators.
std::string setuser_line(std::string_view user, std::string_view prefix);

/// The rule a Sentinel user needs (REDIS_SENTINEL_USERNAME/PASSWORD), as ACL SETUSER arguments
/// after the user name: the set-up (PING, CLIENT SETNAME), the master lookup, the +switch-master
/// subscription that reports failovers, and the read-only SENTINEL queries of `owcore doctor`.
std::vector<std::string> sentinel_rule();

/// One dry-run command.
struct check {
  std::vector<std::string> args;  ///< the command to queue inside MULTI ... DISCARD
  std::string channel_pattern;    ///< for pub/sub checks: the pattern that allows its channel
};

/// The commands `owcore doctor` queues between MULTI and DISCARD to find missing permissions, as
/// the configured user, with keys under `prefix` and owcore's channels: each serve command once,
/// plus one PUBLISH and one (P)SUBSCRIBE per channel. Redis checks ACLs when it queues a command,
/// so a refusal is answered at once and nothing is executed. `cluster` adds CLUSTER SLOTS.
std::vector<check> dry_run(std::string_view prefix, bool cluster);

/// A NOPERM reply read: which command, or that a key or channel was refused.
struct denial {
  enum class kind { command, key, channel };
  kind what = kind::command;
  std::string command;  ///< for `command`: the command Redis names ("eval", "client|setname")
};

/// Reads an error reply; nullopt unless it is NOPERM. Both wordings are read: Redis 7.0 ("NOPERM
/// this user has no permissions to run the 'eval' command", "... to access one of the keys used as
/// arguments", "... channels ...") and 7.2 ("NOPERM User u has no permissions to run the 'eval'
/// command", "NOPERM No permissions to access a key", "... a channel").
std::optional<denial> read_noperm(std::string_view error_reply);

/// What to add to the user's rule for the refusal `d` of the dry-run command `c`: "+eval",
/// "~P:*" or the channel pattern ("&socketio").
std::string grant_for(const check& c, const denial& d, std::string_view prefix);

}  // namespace owcore::redis::acl
