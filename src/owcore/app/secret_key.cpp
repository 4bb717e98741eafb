#include "owcore/app/secret_key.hpp"

#include "owcore/base/base64.hpp"
#include "owcore/base/random.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

namespace owcore::app {
namespace {

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return trim(ss.str());
}

std::string random_key() {
  // 24 CSPRNG bytes as 32 base64url characters (start.sh uses 12 bytes; more cannot hurt). An
  // empty key tells the caller the CSPRNG failed.
  try {
    return base::base64_encode(base::random_bytes(24), base::base64_alphabet::url_safe, false);
  } catch (const std::system_error&) {
    return {};
  }
}

}  // namespace

secret_key resolve_secret_key(const std::string& configured, const std::string& data_dir) {
  secret_key out;
  if (!configured.empty()) {
    out.value = configured;
    return out;
  }
  namespace fs = std::filesystem;
  const fs::path dir = data_dir.empty() ? fs::path(".") : fs::path(data_dir);
  const fs::path file = dir / ".webui_secret_key";
  out.file = file.string();

  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    out.error = "cannot create DATA_DIR " + dir.string() + ": " + ec.message();
    return out;
  }
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (fs::exists(file, ec)) {
      out.value = read_file(file);
      // Another process may have created the file and not written it yet.
      if (!out.value.empty()) return out;
      usleep(20000);
      continue;
    }
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      out.error = "cannot create " + file.string() + ": " + std::strerror(errno);
      return out;
    }
    const std::string key = random_key();
    const std::string line = key + "\n";
    const bool ok =
        !key.empty() && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ::close(fd);
    if (!ok) {
      fs::remove(file, ec);
      out.error = "cannot write " + file.string();
      return out;
    }
    out.value = key;
    out.generated = true;
    return out;
  }
  out.error = file.string() + " exists but stays empty";
  return out;
}

}  // namespace owcore::app
