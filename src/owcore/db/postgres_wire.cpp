#include "owcore/db/postgres_wire.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace owcore::db::pg {
namespace {

bool contains_nocase(std::string_view text, std::string_view needle) {
  return std::search(text.begin(), text.end(), needle.begin(), needle.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         }) != text.end();
}

}  // namespace

// libpq's multi-line messages as one trimmed line, with the password masked should it appear.
std::string one_line(std::string_view text, const std::string& secret) {
  std::string out;
  bool gap = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      gap = !out.empty();
      continue;
    }
    if (gap) out += ' ';
    gap = false;
    out += c;
  }
  // Masking a very short password would mangle ordinary words in the message.
  if (secret.size() >= 4) {
    for (auto pos = out.find(secret); pos != std::string::npos; pos = out.find(secret, pos + 3))
      out.replace(pos, secret.size(), "***");
  }
  return out;
}

error classify_connect_failure(std::string_view message) {
  for (std::string_view auth : {"password authentication failed", "authentication failed",
                                "no password supplied", "pg_hba.conf", "SCRAM"})
    if (contains_nocase(message, auth)) return error::auth_failed;
  if (contains_nocase(message, "role \"") && contains_nocase(message, "does not exist")) return error::auth_failed;
  return error::unreachable;
}

// SQLSTATE classes that mean the session is gone: connection exceptions and operator intervention
// (a server shutting down sends 57P01 before closing the socket).
bool session_ended(std::string_view sqlstate) {
  return sqlstate.starts_with("08") || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03";
}

void first_error::note(const PGresult* r, const std::string& secret) {
  if (!text.empty()) return;
  text = one_line(PQresultErrorMessage(r), secret);
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  sqlstate = state ? state : "";
}

bool first_error::lost(PGconn* pc) const {
  return PQstatus(pc) == CONNECTION_BAD || session_ended(sqlstate);
}

failure first_error::as_failure(PGconn* pc) const {
  return fail(lost(pc) ? error::connection_lost : error::query_failed, text);
}

rows to_rows(PGresult* r) {
  const int nrows = PQntuples(r);
  const int ncols = PQnfields(r);
  std::vector<std::optional<std::string>> cells;
  cells.reserve(static_cast<std::size_t>(nrows) * static_cast<std::size_t>(ncols));
  for (int i = 0; i < nrows; ++i) {
    for (int j = 0; j < ncols; ++j) {
      if (PQgetisnull(r, i, j))
        cells.emplace_back();
      else
        cells.emplace_back(std::in_place, PQgetvalue(r, i, j), static_cast<std::size_t>(PQgetlength(r, i, j)));
    }
  }
  std::int64_t affected = 0;
  const std::string_view status = PQcmdStatus(r);
  if (!status.starts_with("SELECT")) {
    const std::string_view n = PQcmdTuples(r);
    std::from_chars(n.data(), n.data() + n.size(), affected);
  }
  return rows(static_cast<std::size_t>(ncols), std::move(cells), affected);
}

result<connect_params> parse_conninfo(const std::string& conninfo) {
  char* err = nullptr;
  conninfo_ptr opts(PQconninfoParse(conninfo.c_str(), &err));
  if (!opts) {
    std::string msg = err ? err : "out of memory";
    if (err) PQfreemem(err);
    // The message may quote the text it could not parse; never echo the conninfo itself.
    return fail(error::invalid_url, "PostgreSQL conninfo: " + one_line(msg, {}));
  }
  connect_params p;
  std::string host;
  bool has_hostaddr = false;
  bool has_app = false;
  for (auto* o = opts.get(); o->keyword; ++o) {
    if (!o->val) continue;
    const std::string_view key = o->keyword;
    if (key == "password") p.password = o->val;
    if (key == "host") host = o->val;
    if (key == "hostaddr" && *o->val) has_hostaddr = true;
    if (key == "application_name" || key == "fallback_application_name") has_app = true;
    p.keys.emplace_back(key);
    p.values.emplace_back(o->val);
  }
  if (!has_app) {
    p.keys.emplace_back("fallback_application_name");
    p.values.emplace_back("owcore");
  }
  // libpq resolves host names with a blocking getaddrinfo inside PQconnectPoll; resolve them with
  // Asio's resolver instead and hand libpq the addresses.
  if (!has_hostaddr && !host.empty() && host.find(',') == std::string::npos && host.front() != '/' &&
      host.front() != '@') {
    boost::system::error_code ec;
    boost::asio::ip::make_address(host, ec);
    if (ec) p.resolve_host = host;
  }
  return p;
}

}  // namespace owcore::db::pg
