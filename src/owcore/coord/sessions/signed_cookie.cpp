#include "owcore/coord/sessions/signed_cookie.hpp"

#include "owcore/base/base64.hpp"
#include "owcore/base/pyjson.hpp"
#include "owcore/coord/sessions/session_data.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <limits>
#include <stdexcept>

namespace owcore::coord::sessions {

namespace json = boost::json;

namespace {

const unsigned char* bytes_of(std::string_view s) noexcept {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string base64_encode(std::string_view in, bool url_safe) {
  return url_safe ? base::base64_encode(in, base::base64_alphabet::url_safe, false)
                  : base::base64_encode(in);
}

std::optional<std::string> base64_decode(std::string_view in, bool url_safe) {
  base::base64_decode_options rules;  // strict: zero trailing bits, so one spelling per value
  if (url_safe) {
    rules.alphabet = base::base64_alphabet::url_safe;
    rules.padding = base::base64_padding::forbidden;
  }
  auto r = base::base64_decode(in, rules);
  if (!r) return std::nullopt;
  return std::move(*r);
}

timestamp_signer::timestamp_signer(std::string_view secret_key, std::string_view salt) {
  std::string material;
  material.reserve(salt.size() + 6 + secret_key.size());
  material.append(salt).append("signer").append(secret_key);
  unsigned int len = 0;
  const int ok =
      EVP_Digest(material.data(), material.size(), key_.data(), &len, EVP_sha1(), nullptr);
  OPENSSL_cleanse(material.data(), material.size());
  if (ok != 1 || len != key_.size()) throw std::runtime_error("timestamp_signer: SHA1 failed");
}

timestamp_signer::~timestamp_signer() { OPENSSL_cleanse(key_.data(), key_.size()); }

std::string timestamp_signer::signature(std::string_view value) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha1(), key_.data(), static_cast<int>(key_.size()), bytes_of(value), value.size(),
           mac, &len) == nullptr)
    throw std::runtime_error("timestamp_signer: HMAC-SHA1 failed");
  return base64_encode(std::string_view(reinterpret_cast<const char*>(mac), len), true);
}

std::string timestamp_signer::sign(std::string_view value, std::int64_t timestamp) const {
  // itsdangerous' int_to_bytes: 8 bytes big-endian with the leading zero bytes stripped.
  std::string ts;
  auto t = static_cast<std::uint64_t>(timestamp < 0 ? 0 : timestamp);
  for (int shift = 56; shift >= 0; shift -= 8) {
    const auto b = static_cast<char>((t >> shift) & 0xff);
    if (ts.empty() && b == 0) continue;
    ts.push_back(b);
  }
  std::string out;
  out.reserve(value.size() + 40);
  out.append(value).push_back('.');
  out.append(base64_encode(ts, true));
  auto sig = signature(out);
  out.push_back('.');
  out.append(sig);
  return out;
}

boost::system::result<std::string_view> timestamp_signer::unsign(
    std::string_view signed_value, std::int64_t now, std::optional<std::int64_t> max_age) const {
  const auto last = signed_value.rfind('.');
  if (last == std::string_view::npos) return make_error_code(error::malformed_cookie);
  const auto signed_part = signed_value.substr(0, last);
  const auto sig = signed_value.substr(last + 1);
  const auto expected = signature(signed_part);
  if (sig.size() != expected.size() || CRYPTO_memcmp(sig.data(), expected.data(), sig.size()) != 0)
    return make_error_code(error::bad_signature);

  const auto mid = signed_part.rfind('.');
  if (mid == std::string_view::npos) return make_error_code(error::malformed_cookie);
  auto ts_bytes = base64_decode(signed_part.substr(mid + 1), true);
  if (!ts_bytes || ts_bytes->size() > 8) return make_error_code(error::malformed_cookie);
  std::uint64_t ts = 0;
  for (char c : *ts_bytes) ts = (ts << 8) | static_cast<unsigned char>(c);
  if (ts > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return make_error_code(error::malformed_cookie);
  if (max_age) {
    const auto age = now - static_cast<std::int64_t>(ts);
    if (age > *max_age || age < 0) return make_error_code(error::expired);
  }
  return signed_part.substr(0, mid);
}

std::string encode_session_cookie(const timestamp_signer& signer, const json::object& data,
                                  std::int64_t now) {
  return signer.sign(base64_encode(json::serialize(data), false), now);
}

boost::system::result<json::object> decode_session_cookie(const timestamp_signer& signer,
                                                          std::string_view cookie, std::int64_t now,
                                                          std::int64_t max_age) {
  auto payload = signer.unsign(cookie, now, max_age);
  if (!payload) return payload.error();
  auto text = base64_decode(*payload, false);
  if (!text) return make_error_code(error::bad_payload);
  auto parsed = base::pyjson::load(*text, max_session_depth);
  auto* v = std::get_if<json::value>(&parsed);
  if (!v || !v->is_object()) return make_error_code(error::bad_payload);
  return std::move(v->get_object());
}

}  // namespace owcore::coord::sessions
