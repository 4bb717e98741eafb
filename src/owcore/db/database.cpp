#include "owcore/db/database.hpp"

#include "owcore/db/metrics.hpp"

#include <boost/throw_exception.hpp>

#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace owcore::db {

std::string failure::message() const {
  if (detail.empty()) return code.message();
  return code.message() + ": " + detail;
}

void throw_exception_from_error(const failure& f, const boost::source_location& loc) {
  boost::throw_exception(std::runtime_error(f.message()), loc);
}

std::string_view to_string(dialect d) noexcept { return d == dialect::sqlite ? "sqlite" : "postgresql"; }

std::optional<std::int64_t> as_int(const std::optional<std::string>& cell) noexcept {
  if (!cell || cell->empty()) return std::nullopt;
  const char* b = cell->data();
  const char* e = b + cell->size();
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(b, e, v);
  if (ec == std::errc{} && p == e) return v;
  double d = 0;
  auto [pd, ecd] = std::from_chars(b, e, d);
  if (ecd == std::errc{} && pd == e && std::isfinite(d) && std::fabs(d) < 9.2e18) return static_cast<std::int64_t>(d);
  return std::nullopt;
}

std::optional<bool> as_bool(const std::optional<std::string>& cell) noexcept {
  if (!cell) return std::nullopt;
  std::string v;
  for (char c : *cell) v += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (v == "t" || v == "true" || v == "1") return true;
  if (v == "f" || v == "false" || v == "0") return false;
  return std::nullopt;
}

std::string sqlite_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  char quote = 0;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '$' && i + 1 < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      out += '?';
      continue;
    }
    out += c;
  }
  return out;
}

net::awaitable<result<std::shared_ptr<database>>> open(net::executor ex, options opts) {
  result<std::shared_ptr<database>> r = fail(error::stopped);
  if (opts.kind == dialect::sqlite) r = co_await open_sqlite(std::move(ex), std::move(opts));
  else r = co_await open_postgres(std::move(ex), std::move(opts));
  if (!r) co_return r;
  co_return instrument(std::move(*r));  // counted in db/metrics.hpp
}

}  // namespace owcore::db
