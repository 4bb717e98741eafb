#include "support/openwebui_db.hpp"

#include <atomic>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>

namespace owcore::test {
namespace {

using namespace std::chrono_literals;

std::string describe(const db::failure& f) { return f.message(); }

// Statement texts outlive every prepared statement that names them (db::statement holds views).
const std::string& intern(const std::string& text) {
  static std::mutex mutex;
  static std::set<std::string> texts;
  std::lock_guard lock(mutex);
  return *texts.insert(text).first;
}

}  // namespace

std::string openwebui_db::schema_sql() {
  const std::filesystem::path file = std::filesystem::path(OWCORE_SOURCE_DIR) / "tests/fixtures/openwebui/schema.sql";
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

postgres_server& openwebui_db::shared_postgres() {
  // Never destroyed before exit: the server dies with the test process (PR_SET_PDEATHSIG), and
  // its destructor still runs at static destruction to remove the data directory.
  static postgres_server server;
  return server;
}

openwebui_db::openwebui_db(io_runner& runner, db::dialect kind, postgres_server* server)
    : runner_(runner), kind_(kind) {
  options_.kind = kind;
  options_.pool_size = 2;
  options_.connect_timeout = 3s;
  options_.statement_timeout = 10s;
  options_.pool_timeout = 10s;
  if (kind == db::dialect::sqlite) {
    dir_.emplace("owcore-owui-");
    options_.sqlite_path = (dir_->path() / "webui.db").string();
    options_.sqlite_create = true;
  } else {
    static std::atomic<int> counter{0};
    auto& pg = server ? *server : shared_postgres();
    const std::string name = "owui_" + std::to_string(++counter);
    pg.create_database(name);
    options_.conninfo = pg.superuser_conninfo(name);
  }
  auto opened = kind == db::dialect::sqlite ? runner_.run(db::open_sqlite(runner_.io.get_executor(), options_))
                                            : runner_.run(db::open_postgres(runner_.io.get_executor(), options_));
  if (!opened) throw std::runtime_error("opening the test database: " + describe(opened.error()));
  db_ = *opened;
  exec_script(schema_sql());
}

openwebui_db::~openwebui_db() {
  if (db_) db_->stop();
}

void openwebui_db::exec_script(const std::string& sql) {
  auto done = runner_.run(db_->exec_script(sql));
  if (!done) throw std::runtime_error("exec_script: " + describe(done.error()) + "\n" + sql);
}

db::rows openwebui_db::select(const std::string& sql) {
  const std::string& text = intern(sql);
  const std::string& name = intern("t_owui_" + std::to_string(std::hash<std::string>{}(text)));
  const db::statement st{name, text};
  auto r = runner_.run(db_->exec(st, db::params{}));
  if (!r) throw std::runtime_error("select: " + describe(r.error()) + "\n" + sql);
  return std::move(*r);
}

std::optional<std::string> openwebui_db::scalar(const std::string& sql) {
  auto r = select(sql);
  if (r.size() != 1 || r.columns() != 1)
    throw std::runtime_error("scalar: " + std::to_string(r.size()) + " rows of " + std::to_string(r.columns()) +
                             " columns from " + sql);
  return r.at(0, 0);
}

}  // namespace owcore::test
