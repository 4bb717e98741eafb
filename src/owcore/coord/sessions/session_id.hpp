#pragma once
// Session ids of the server-side (Redis or memory) session store: 32 lowercase hex characters
// from 16 CSPRNG bytes, the format starsessions generates (`secrets.token_hex(16)`).
//
// docs/wire.md, "Trust and isolation": starsessions adopts whatever id a client sends and makes it
// a Redis key suffix. owcore never does: a `session_id` can only be made by `generate()` (fresh
// randomness) or by `parse()` (exactly 32 lowercase hex), and the key schema (keys.hpp) takes only
// a `session_id`, so an attacker-chosen string cannot reach Redis as part of a key.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace owcore::coord::sessions {

/// A well-formed session id. A value type; immutable; safe to share between threads.
class session_id {
 public:
  /// Characters in an id (16 bytes, hex).
  static constexpr std::size_t length = 32;

  /// A fresh id from the CSPRNG (base::random_fill, 128 bits). Throws std::runtime_error when
  /// the CSPRNG fails (it never does on a healthy system; continuing with a weak id would be
  /// worse).
  static session_id generate();

  /// The id if `text` is exactly 32 characters of [0-9a-f], nullopt otherwise (upper case,
  /// other lengths, separators and anything else are rejected). Never throws.
  static std::optional<session_id> parse(std::string_view text);

  /// True if parse() would accept `text`.
  static bool well_formed(std::string_view text) noexcept;

  const std::string& str() const noexcept { return value_; }

  friend bool operator==(const session_id&, const session_id&) = default;

 private:
  explicit session_id(std::string v) : value_(std::move(v)) {}
  std::string value_;
};

}  // namespace owcore::coord::sessions
