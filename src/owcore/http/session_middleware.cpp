#include "owcore/http/session_middleware.hpp"

#include "owcore/coord/sessions/session_store.hpp"

#include <boost/beast/http/field.hpp>

#include <stdexcept>

namespace owcore::http {

namespace sessions = coord::sessions;

namespace {

// Python's str.strip() on a header decoded as latin-1.
bool py_space(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u == ' ' || (u >= 0x09 && u <= 0x0d) || (u >= 0x1c && u <= 0x1f) || u == 0x85 || u == 0xa0;
}

std::string_view strip(std::string_view s) noexcept {
  while (!s.empty() && py_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && py_space(s.back())) s.remove_suffix(1);
  return s;
}

// http.cookies._unquote: a "quoted" value loses its quotes, and `\ooo` (octal, first digit 0-3)
// and `\<char>` (any but a newline) escapes are decoded.
std::string unquote(std::string_view v) {
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') return std::string(v);
  v = v.substr(1, v.size() - 2);
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '\\' || i + 1 >= v.size()) {
      out.push_back(v[i]);
      continue;
    }
    const auto is_oct = [](char c) { return c >= '0' && c <= '7'; };
    if (i + 3 < v.size() && v[i + 1] >= '0' && v[i + 1] <= '3' && is_oct(v[i + 2]) &&
        is_oct(v[i + 3])) {
      out.push_back(static_cast<char>((v[i + 1] - '0') * 64 + (v[i + 2] - '0') * 8 + (v[i + 3] - '0')));
      i += 3;
    } else if (v[i + 1] != '\n') {
      out.push_back(v[i + 1]);
      i += 1;
    } else {
      out.push_back(v[i]);
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> parse_request_cookie(std::string_view header, std::string_view name) {
  std::optional<std::string> found;
  while (true) {
    const auto semi = header.find(';');
    const auto chunk = header.substr(0, semi);
    std::string_view key, val;
    if (const auto eq = chunk.find('='); eq != std::string_view::npos) {
      key = strip(chunk.substr(0, eq));
      val = strip(chunk.substr(eq + 1));
    } else {
      val = strip(chunk);
    }
    if ((!key.empty() || !val.empty()) && key == name) found = unquote(val);
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return found;
}

session_middleware::session_middleware(session_options options,
                                       std::shared_ptr<sessions::session_service> service)
    : opts_(std::move(options)), service_(std::move(service)) {
  if (!service_) throw std::invalid_argument("session_middleware: no session service");
  flags_ = "httponly; samesite=" + opts_.same_site;
  if (opts_.secure) flags_ += "; secure";
}

std::optional<std::string> session_middleware::cookie(const request& req) const {
  auto it = req.find(bhttp::field::cookie);
  if (it == req.end()) return std::nullopt;
  return parse_request_cookie(it->value(), opts_.cookie_name);
}

std::string session_middleware::set_cookie(const sessions::cookie_change& change) const {
  const bool redis = service_->mode() == sessions::session_mode::server_side;
  std::string h;
  switch (change.action) {
    case sessions::cookie_action::keep:
      return h;
    case sessions::cookie_action::set:
      h = opts_.cookie_name + "=" + change.value + "; path=/; ";
      if (!redis) h += "Max-Age=" + std::to_string(opts_.cookie_max_age.count()) + "; ";
      break;
    case sessions::cookie_action::clear:
      // starsessions writes the literal value '' and Starlette the literal null.
      h = opts_.cookie_name + (redis ? "=''" : "=null") +
          "; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; ";
      break;
  }
  h += flags_;
  return h;
}

void session_middleware::apply(response& res, const sessions::cookie_change& change) const {
  if (change.action == sessions::cookie_action::keep) return;
  res.insert(bhttp::field::set_cookie, set_cookie(change));
}

std::shared_ptr<session_middleware> make_session_middleware(
    session_options options, std::optional<coord::redis_backend> redis) {
  std::shared_ptr<sessions::session_service> svc;
  if (options.redis_mode) {
    sessions::memory_store_options mo;
    mo.ttl = options.redis_ttl;
    auto store = redis ? sessions::make_redis_session_store(std::move(*redis), options.redis_ttl)
                       : sessions::make_memory_session_store(std::move(mo));
    sessions::server_session_options so;
    so.max_value_bytes = options.max_session_bytes;
    svc = sessions::make_server_session_service(std::move(store), std::move(so));
  } else {
    sessions::signed_cookie_options co;
    co.secret_key = options.secret_key;
    co.max_age = options.cookie_max_age;
    co.max_cookie_bytes = options.max_cookie_bytes;
    svc = sessions::make_signed_cookie_session_service(std::move(co));
  }
  options.secret_key.clear();  // the service keeps only what it needs
  return std::make_shared<session_middleware>(std::move(options), std::move(svc));
}

}  // namespace owcore::http
