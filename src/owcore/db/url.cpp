#include "owcore/db/url.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <cctype>
#include <filesystem>

namespace owcore::db {
namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

formed_url form_url(const url_inputs& in) {
  formed_url out;
  out.variable = "DATABASE_URL";
  if (in.database_url) {
    out.url = *in.database_url;
  } else {
    out.url = "sqlite:///" + in.data_dir + "/webui.db";
    out.is_default = true;
  }
  std::string cred = in.user;
  if (!in.password.empty()) cred += ":" + in.password;
  if (!in.type.empty() && !cred.empty() && !in.host.empty() && !in.port.empty() && !in.name.empty()) {
    out.url = in.type + "://" + cred + "@" + in.host + ":" + in.port + "/" + in.name;
    out.variable = "DATABASE_TYPE";
    out.is_default = false;
  } else if (in.type == "sqlite+sqlcipher" && (!in.database_url || in.database_url->empty())) {
    out.url = "sqlite+sqlcipher:///" + in.data_dir + "/webui.db";
    out.variable = "DATABASE_TYPE";
    out.is_default = false;
  }
  replace_all(out.url, "postgres://", "postgresql://");
  return out;
}

std::variant<options, std::string> parse_database_url(std::string_view url) {
  const auto sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0)
    return std::string("is not a URL (expected sqlite:///path or postgresql://user:password@host:port/name)");
  const std::string scheme = lower(url.substr(0, sep));
  const auto plus = scheme.find('+');
  const std::string base = scheme.substr(0, plus);
  const std::string driver = plus == std::string::npos ? "" : scheme.substr(plus + 1);
  std::string_view rest = url.substr(sep + 3);

  options o;
  if (base == "sqlite") {
    if (driver == "sqlcipher")
      return std::string("SQLCipher (sqlite+sqlcipher) is not supported; Open WebUI 0.11 refuses it too");
    if (!driver.empty() && driver != "aiosqlite" && driver != "pysqlite")
      return "the SQLite driver '" + driver + "' is not supported";
    // sqlite:///relative or sqlite:////absolute: the third slash ends the (empty) authority.
    if (rest.empty() || rest.front() != '/')
      return std::string("a SQLite URL needs a file path: sqlite:///relative/path.db or sqlite:////absolute/path.db");
    rest.remove_prefix(1);
    if (auto q = rest.find('?'); q != std::string_view::npos) rest = rest.substr(0, q);
    if (rest.empty() || rest == ":memory:")
      return std::string("an in-memory SQLite database cannot be shared with Open WebUI; give a file path");
    o.kind = dialect::sqlite;
    o.sqlite_path = std::string(rest);
    return o;
  }
  if (base == "postgresql") {
    if (!driver.empty() && driver != "psycopg" && driver != "psycopg2" && driver != "asyncpg" && driver != "pg8000")
      return "the PostgreSQL driver '" + driver + "' is not supported";
    const std::string plain = "postgresql://" + std::string(rest);
    auto parsed = boost::urls::parse_uri(plain);
    if (!parsed) return std::string("does not parse as a URL (percent-encode special characters in the password)");
    boost::urls::url u(*parsed);
    auto query = u.params();
    for (auto it = query.begin(); it != query.end(); ++it) {
      if ((*it).key == "ssl") {
        const std::string v = (*it).has_value ? std::string((*it).value) : std::string("require");
        it = query.replace(it, {"sslmode", v});
      }
    }
    o.kind = dialect::postgresql;
    o.conninfo = std::string(u.buffer());
    return o;
  }
  return "the scheme '" + scheme + "' is not supported; owcore speaks SQLite and PostgreSQL";
}

std::string absolute_dir(const std::string& dir) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(dir, ec);
  std::string out = ec ? dir : abs.lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

bool valid_pragma_value(std::string_view value) noexcept {
  if (value.empty() || value.size() > 32) return false;
  for (char c : value)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

}  // namespace owcore::db
