#include "owcore/coord/sessions/signed_cookie.hpp"

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

constexpr char std_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int sextet(char c, bool url_safe) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == (url_safe ? '-' : '+')) return 62;
  if (c == (url_safe ? '_' : '/')) return 63;
  return -1;
}

const unsigned char* bytes_of(std::string_view s) noexcept {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string base64_encode(std::string_view in, bool url_safe) {
  const char* a = url_safe ? url_alphabet : std_alphabet;
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  const auto* p = bytes_of(in);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const unsigned v = (unsigned{p[i]} << 16) | (unsigned{p[i + 1]} << 8) | p[i + 2];
    out.push_back(a[(v >> 18) & 63]);
    out.push_back(a[(v >> 12) & 63]);
    out.push_back(a[(v >> 6) & 63]);
    out.push_back(a[v & 63]);
  }
  const std::size_t rest = in.size() - i;
  if (rest > 0) {
    unsigned v = unsigned{p[i]} << 16;
    if (rest == 2) v |= unsigned{p[i + 1]} << 8;
    out.push_back(a[(v >> 18) & 63]);
    out.push_back(a[(v >> 12) & 63]);
    if (rest == 2) out.push_back(a[(v >> 6) & 63]);
    if (!url_safe) out.append(rest == 1 ? "==" : "=");
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view in, bool url_safe) {
  std::size_t pad = 0;
  if (!url_safe) {
    if (in.size() % 4 != 0) return std::nullopt;
    while (pad < 2 && pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
    in.remove_suffix(pad);
  } else if (in.size() % 4 == 1) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(in.size() / 4 * 3 + 2);
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    const int s = sextet(c, url_safe);
    if (s < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(s);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero: otherwise two spellings would decode to the same bytes.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  if (!url_safe && pad != (4 - in.size() % 4) % 4) return std::nullopt;
  return out;
}

timestamp_signer::timestamp_signer(std::string_view secret_key, std::string_view salt) {
  std::string material;
  material.reserve(salt.size() + 6 + secret_key.size());
  material.append(salt).append("signer").append(secret_key);
  unsigned int len = 0;
  const int ok = EVP_Digest(material.data(), material.size(), key_.data(), &len, EVP_sha1(), nullptr);
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
                                                          std::string_view cookie,
                                                          std::int64_t now, std::int64_t max_age) {
  auto payload = signer.unsign(cookie, now, max_age);
  if (!payload) return payload.error();
  auto text = base64_decode(*payload, false);
  if (!text) return make_error_code(error::bad_payload);
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object()) return make_error_code(error::bad_payload);
  return std::move(v.get_object());
}

}  // namespace owcore::coord::sessions
