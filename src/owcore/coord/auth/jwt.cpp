#include "owcore/coord/auth/jwt.hpp"

#include "owcore/base/base64.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <charconv>
#include <cmath>

namespace owcore::coord::auth {
namespace {

constexpr std::size_t max_token = 8 * 1024;

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::optional<boost::json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

bool is_number(const boost::json::value& v) {
  return v.is_int64() || v.is_uint64() || v.is_double();
}

double as_number(const boost::json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.as_int64());
  if (v.is_uint64()) return static_cast<double>(v.as_uint64());
  return v.as_double();
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  return base::base64_encode(bytes, base::base64_alphabet::url_safe, false);
}

std::optional<std::string> base64url_decode(std::string_view text) {
  // Lenient, as verifiers are: any trailing '=', either alphabet, trailing bits unchecked.
  static constexpr base::base64_decode_options rules{base::base64_alphabet::url_safe, true,
                                                     base::base64_padding::ignored, false};
  auto r = base::base64_decode(text, rules);
  if (!r) return std::nullopt;
  return std::move(*r);
}

std::string sign_hs256(const boost::json::object& claims, std::string_view secret) {
  const std::string header = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
  const std::string payload = base64url_encode(boost::json::serialize(claims));
  const std::string signing_input = header + "." + payload;
  return signing_input + "." + base64url_encode(hmac_sha256(secret, signing_input));
}

std::variant<boost::json::object, jwt_error> verify_hs256(std::string_view token,
                                                          std::string_view secret,
                                                          std::int64_t now) {
  using k = jwt_error::kind;
  if (token.empty() || token.size() > max_token)
    return jwt_error{k::malformed, "token missing or too long"};
  const auto d1 = token.find('.');
  const auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    return jwt_error{k::malformed, "a JWT has three dot-separated parts"};
  auto header_json = base64url_decode(token.substr(0, d1));
  auto payload_json = base64url_decode(token.substr(d1 + 1, d2 - d1 - 1));
  auto signature = base64url_decode(token.substr(d2 + 1));
  if (!header_json || !payload_json || !signature)
    return jwt_error{k::malformed, "invalid base64url"};
  auto header = parse_object(*header_json);
  if (!header) return jwt_error{k::malformed, "header is not a JSON object"};
  auto alg = header->if_contains("alg");
  if (!alg || !alg->is_string() || alg->as_string() != "HS256")
    return jwt_error{k::bad_algorithm, "only HS256 tokens are accepted"};
  const auto expected = hmac_sha256(secret, token.substr(0, d2));
  if (signature->size() != expected.size() ||
      CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0)
    return jwt_error{k::bad_signature, "signature does not match"};
  auto claims = parse_object(*payload_json);
  if (!claims) return jwt_error{k::malformed, "payload is not a JSON object"};
  if (auto exp = claims->if_contains("exp")) {
    if (!is_number(*exp)) return jwt_error{k::bad_claims, "exp is not a number"};
    if (!(as_number(*exp) > static_cast<double>(now)))
      return jwt_error{k::expired, "token expired"};
  }
  if (auto iat = claims->if_contains("iat"); iat && !is_number(*iat))
    return jwt_error{k::bad_claims, "iat is not a number"};
  return std::move(*claims);
}

duration_parse parse_duration(std::string_view text) {
  if (text == "-1" || text == "0") return duration_parse{true, std::nullopt};
  if (text.empty()) return {};
  double total = 0;
  while (!text.empty()) {
    std::size_t n = 0;
    while (n < text.size() && (std::isdigit(static_cast<unsigned char>(text[n])) || text[n] == '.'))
      ++n;
    if (n == 0) return {};
    double v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + n, v);
    if (ec != std::errc{} || p != text.data() + n) return {};
    text.remove_prefix(n);
    double unit = 0;
    if (text.starts_with("ms")) {
      unit = 0.001;
      text.remove_prefix(2);
    } else if (text.starts_with("s")) {
      unit = 1;
      text.remove_prefix(1);
    } else if (text.starts_with("m")) {
      unit = 60;
      text.remove_prefix(1);
    } else if (text.starts_with("h")) {
      unit = 3600;
      text.remove_prefix(1);
    } else if (text.starts_with("d")) {
      unit = 86400;
      text.remove_prefix(1);
    } else if (text.starts_with("w")) {
      unit = 604800;
      text.remove_prefix(1);
    } else return {};
    total += v * unit;
  }
  if (!std::isfinite(total) || total > 1e11) return {};
  return duration_parse{true, std::chrono::seconds(static_cast<std::int64_t>(total))};
}

}  // namespace owcore::coord::auth
