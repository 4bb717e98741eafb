#include "owcore/coord/auth/jwt.hpp"

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

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
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

bool is_number(const boost::json::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

double as_number(const boost::json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.as_int64());
  if (v.is_uint64()) return static_cast<double>(v.as_uint64());
  return v.as_double();
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto b = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = (b(i) << 16) | (b(i + 1) << 8) | b(i + 2);
    for (int shift : {18, 12, 6, 0}) out += alphabet[(v >> shift) & 63];
  }
  if (bytes.size() - i == 1) {
    const unsigned v = b(i) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
  } else if (bytes.size() - i == 2) {
    const unsigned v = (b(i) << 16) | (b(i + 1) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-' || c == '+') v = 62;
    else if (c == '_' || c == '/') v = 63;
    else return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string sign_hs256(const boost::json::object& claims, std::string_view secret) {
  const std::string header = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
  const std::string payload = base64url_encode(boost::json::serialize(claims));
  const std::string signing_input = header + "." + payload;
  return signing_input + "." + base64url_encode(hmac_sha256(secret, signing_input));
}

std::variant<boost::json::object, jwt_error> verify_hs256(std::string_view token, std::string_view secret,
                                                          std::int64_t now) {
  using k = jwt_error::kind;
  if (token.empty() || token.size() > max_token) return jwt_error{k::malformed, "token missing or too long"};
  const auto d1 = token.find('.');
  const auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    return jwt_error{k::malformed, "a JWT has three dot-separated parts"};
  auto header_json = base64url_decode(token.substr(0, d1));
  auto payload_json = base64url_decode(token.substr(d1 + 1, d2 - d1 - 1));
  auto signature = base64url_decode(token.substr(d2 + 1));
  if (!header_json || !payload_json || !signature) return jwt_error{k::malformed, "invalid base64url"};
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
    if (!(as_number(*exp) > static_cast<double>(now))) return jwt_error{k::expired, "token expired"};
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
    while (n < text.size() && (std::isdigit(static_cast<unsigned char>(text[n])) || text[n] == '.')) ++n;
    if (n == 0) return {};
    double v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + n, v);
    if (ec != std::errc{} || p != text.data() + n) return {};
    text.remove_prefix(n);
    double unit = 0;
    if (text.starts_with("ms")) { unit = 0.001; text.remove_prefix(2); }
    else if (text.starts_with("s")) { unit = 1; text.remove_prefix(1); }
    else if (text.starts_with("m")) { unit = 60; text.remove_prefix(1); }
    else if (text.starts_with("h")) { unit = 3600; text.remove_prefix(1); }
    else if (text.starts_with("d")) { unit = 86400; text.remove_prefix(1); }
    else if (text.starts_with("w")) { unit = 604800; text.remove_prefix(1); }
    else return {};
    total += v * unit;
  }
  if (!std::isfinite(total) || total > 1e11) return {};
  return duration_parse{true, std::chrono::seconds(static_cast<std::int64_t>(total))};
}

}  // namespace owcore::coord::auth
