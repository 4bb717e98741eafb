// libFuzzer target for the credentials a client presents (tests/fuzz/run_fuzz auth):
// - JWTs (the `token` of a Socket.IO auth and of the Authorization header), verified as HS256;
// - Starlette's signed session cookie, and the session JSON stored in Redis;
// - Open WebUI's duration syntax (JWT_EXPIRES_IN), an operator input.
// Beyond "no crash, no leak, no UB" it checks: a token is accepted only when it is the one its
// own claims sign to (so a forged or altered token never verifies), a cookie verifies only when
// its signature is the signer's, and a decoded cookie or stored session re-encodes to a value
// that decodes to the same data.
//
// Input: byte 0 selects the decoder; the rest is the untrusted text.
//
// fuzz-sources: src/owcore/coord/auth/jwt.cpp src/owcore/coord/sessions/signed_cookie.cpp
// fuzz-sources: src/owcore/coord/sessions/session_data.cpp src/owcore/coord/sessions/error.cpp
// fuzz-libs: -lboost_json -lcrypto
#include "owcore/coord/auth/jwt.hpp"
#include "owcore/coord/sessions/session_data.hpp"
#include "owcore/coord/sessions/signed_cookie.hpp"
#include "json_same.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace auth = owcore::coord::auth;
namespace sessions = owcore::coord::sessions;

namespace {

constexpr std::string_view secret = "fuzz-secret";
constexpr std::int64_t now = 1'700'000'000;

[[noreturn]] void broken(const char* what) {
  __builtin_printf("property broken: %s\n", what);
  std::abort();
}

void jwt(std::string_view token) {
  auto r = auth::verify_hs256(token, secret, now);
  if (auto* claims = std::get_if<boost::json::object>(&r)) {
    // Only a token whose signature is ours can verify, whatever its spelling: re-signing its
    // claims must verify too, and the exp rule must hold.
    const auto* exp = claims->if_contains("exp");
    if (exp && !(exp->is_number() && exp->to_number<double>() > static_cast<double>(now)))
      broken("an expired token verified");
    if (!std::holds_alternative<boost::json::object>(auth::verify_hs256(auth::sign_hs256(*claims, secret), secret, now)))
      broken("re-signed claims do not verify");
  }
  // The same bytes under another secret never verify.
  if (std::holds_alternative<boost::json::object>(auth::verify_hs256(token, "another-secret", now)) &&
      std::holds_alternative<boost::json::object>(r))
    broken("a token verified under two secrets");
}

void cookie(std::string_view value) {
  const sessions::timestamp_signer signer(secret);
  auto r = sessions::decode_session_cookie(signer, value, now, 14 * 24 * 3600);
  if (!r) return;
  const auto again = sessions::decode_session_cookie(signer, sessions::encode_session_cookie(signer, *r, now), now,
                                                     14 * 24 * 3600);
  if (!again || !fuzz::same(boost::json::value(*again), boost::json::value(*r))) broken("a session cookie does not round-trip");
  const sessions::timestamp_signer other("another-secret");
  if (sessions::decode_session_cookie(other, value, now, 14 * 24 * 3600)) broken("a cookie verified under two keys");
}

void stored(std::string_view json) {
  auto r = sessions::decode_stored_session(json, static_cast<double>(now));
  if (!r) return;
  if (r->data.contains("__metadata__")) broken("metadata left in the data");
  auto again = sessions::decode_stored_session(sessions::encode_stored_session(r->data, r->metadata), static_cast<double>(now));
  if (!again || !fuzz::same(boost::json::value(again->data), boost::json::value(r->data)))
    broken("a stored session does not round-trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: jwt(in); break;
    case 1: cookie(in); break;
    case 2: stored(in); break;
    default: (void)auth::parse_duration(in); break;
  }
  return 0;
}
