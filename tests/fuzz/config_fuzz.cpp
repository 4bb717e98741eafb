// libFuzzer target for what an operator or a deployment tool writes (tests/fuzz/run_fuzz config):
// Redis URLs (REDIS_URL, WEBSOCKET_REDIS_URL), database URLs (DATABASE_URL) and the whole
// settings parser over an environment of NAME=VALUE lines. A bad value must become a start-up
// error or a warning naming the variable, never a crash. Properties checked: the settings
// parser is deterministic, its JSON view (`owcore config`) never shows a URL's password, and
// mask_url_password never returns the password it masks.
//
// Input: byte 0 selects the parser; the rest is the URL, or the environment (lines NAME=VALUE).
//
// fuzz-sources: src/owcore/app/settings.cpp src/owcore/app/settings_json.cpp src/owcore/app/python_literals.cpp src/owcore/db/url.cpp
// fuzz-sources: src/owcore/redis/url.cpp
// fuzz-libs: -lboost_json -lboost_url
#include "owcore/app/settings.hpp"
#include "owcore/db/url.hpp"
#include "owcore/redis/url.hpp"

#include <boost/json/serialize.hpp>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace app = owcore::app;

namespace {

[[noreturn]] void broken(const char* what) {
  __builtin_printf("property broken: %s\n", what);
  std::abort();
}

std::map<std::string, std::string, std::less<>> parse_env(std::string_view in) {
  std::map<std::string, std::string, std::less<>> env;
  while (!in.empty() && env.size() < 64) {
    const auto nl = in.find('\n');
    const auto line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
    const auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    env.insert_or_assign(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  return env;
}

// The password of `url`'s authority (between "://" and the first '/', '?' or '#'), if any.
std::optional<std::string_view> url_password(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos || scheme == 0) return std::nullopt;
  // RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), at the very start.
  for (std::size_t i = 0; i < scheme; ++i) {
    const char c = url[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alpha && (i == 0 || !((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))) return std::nullopt;
  }
  auto authority = url.substr(scheme + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  const auto userinfo = authority.substr(0, at);
  const auto colon = userinfo.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return userinfo.substr(colon + 1);
}

void settings(std::string_view in) {
  const auto env = parse_env(in);
  const app::env_lookup lookup = [&env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  const auto a = app::load_settings(lookup);
  const auto b = app::load_settings(lookup);
  const auto ja = boost::json::serialize(app::to_json(a));
  if (ja != boost::json::serialize(app::to_json(b))) broken("load_settings is not deterministic");
  // A password of a URL in REDIS_URL never appears in `owcore config` output.
  if (auto it = env.find("REDIS_URL"); it != env.end()) {
    if (auto password = url_password(it->second)) {
      // Only a password that is not in the output anyway: not in what the same environment
      // without REDIS_URL shows (other variables, owcore's own messages), and not twice in the URL.
      auto without = env;
      without.erase("REDIS_URL");
      const app::env_lookup rest = [&without](std::string_view name) -> std::optional<std::string> {
        auto w = without.find(name);
        if (w == without.end()) return std::nullopt;
        return w->second;
      };
      const auto baseline = boost::json::serialize(app::to_json(app::load_settings(rest)));
      if (password->size() >= 6 && baseline.find(*password) == std::string::npos &&
          it->second.find(*password) == it->second.rfind(*password) &&
          password->find_first_of("\"\\%") == std::string_view::npos && ja.find(*password) != std::string::npos)
        broken("a REDIS_URL password in owcore config");
    }
  }
}

void mask(std::string_view url) {
  const auto masked = app::mask_url_password(url);
  const auto password = url_password(url);
  // Only a password that occurs once in the URL (else the text may be kept from elsewhere).
  if (password && password->size() >= 8 && password->find('%') == std::string_view::npos &&
      url.find(*password) == url.rfind(*password) && masked.find(*password) != std::string::npos)
    broken("mask_url_password kept the password");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: (void)owcore::redis::parse_url(in); break;
    case 1: (void)owcore::db::parse_database_url(in); (void)owcore::db::valid_pragma_value(in); break;
    case 2: settings(in); break;
    default: mask(in); break;
  }
  return 0;
}
