#include "support/process.hpp"

#include "support/wait.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace owcore::test {
namespace {

constexpr auto reap_poll_interval = std::chrono::milliseconds(5);

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// Owns a file descriptor in the parent while spawning, so every error path closes it.
class fd_guard {
 public:
  explicit fd_guard(int fd = -1) noexcept : fd_(fd) {}
  ~fd_guard() { reset(); }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int get() const noexcept { return fd_; }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

bool is_executable(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void exec_child(pid_t parent, const char* path, char* const* argv, int stdin_fd,
                             int log_fd, int error_fd, const process_options& options) {
  // Switch identity first: a credential change clears the parent-death signal.
  if ((options.gid && (::setgroups(0, nullptr) != 0 || ::setgid(*options.gid) != 0)) ||
      (options.uid && ::setuid(*options.uid) != 0)) {
    const int e = errno;
    [[maybe_unused]] auto n = ::write(error_fd, &e, sizeof e);
    ::_exit(127);
  }
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(127);

  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // Ignored dispositions survive exec; the test runner may have ignored some of these.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::sigaction(sig, &dfl, nullptr);

  if (::dup2(stdin_fd, 0) < 0 || ::dup2(log_fd, 1) < 0 || ::dup2(log_fd, 2) < 0) {
    const int e = errno;
    [[maybe_unused]] auto n = ::write(error_fd, &e, sizeof e);
    ::_exit(127);
  }
  // Don't leak the test's sockets (hiredis connections, other children's pipes) into the child.
  const auto keep = static_cast<unsigned>(error_fd);
  if (keep > 3) ::close_range(3, keep - 1, 0);
  ::close_range(keep + 1, ~0U, 0);

  ::execv(path, argv);
  const int e = errno;
  [[maybe_unused]] auto n = ::write(error_fd, &e, sizeof e);
  ::_exit(127);
}

}  // namespace

std::filesystem::path find_executable(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (is_executable(name)) return name;
    throw std::runtime_error("not an executable file: " + name);
  }
  const char* env = std::getenv("PATH");
  const std::string path = env != nullptr && *env != '\0' ? env : "/usr/local/bin:/usr/bin:/bin";
  std::size_t begin = 0;
  while (begin <= path.size()) {
    const std::size_t end = std::min(path.find(':', begin), path.size());
    const std::string dir = path.substr(begin, end - begin);
    const auto candidate = std::filesystem::path(dir.empty() ? "." : dir) / name;
    if (is_executable(candidate)) return candidate;
    begin = end + 1;
  }
  throw std::runtime_error("executable not found on PATH: " + name);
}

std::string file_tail(const std::filesystem::path& file, std::size_t max_bytes) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(std::max<std::streamoff>(in.tellg(), 0));
  const std::size_t start = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(start));
  std::string text(size - start, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  if (start > 0) {
    if (const auto nl = text.find('\n'); nl != std::string::npos) text.erase(0, nl + 1);
  }
  return text;
}

std::string with_log_tail(const std::string& what, const std::filesystem::path& log) {
  if (log.empty()) return what;
  std::string tail = file_tail(log);
  if (tail.empty()) tail = "(empty or unreadable)\n";
  return what + "\n--- tail of " + log.string() + " ---\n" + tail + "--- end of log ---";
}

std::string describe_wait_status(int status) {
  if (status == -1) return "status unknown (reaped elsewhere)";
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

process::process(std::vector<std::string> argv, std::filesystem::path log_file, process_options options)
    : log_file_(std::move(log_file)) {
  if (argv.empty()) throw std::runtime_error("process: empty argv");
  const std::filesystem::path exe = find_executable(argv.front());

  std::vector<char*> c_argv;
  c_argv.reserve(argv.size() + 1);
  for (auto& arg : argv) c_argv.push_back(arg.data());
  c_argv.push_back(nullptr);

  fd_guard log_fd(::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (log_fd.get() < 0) throw_errno("process: cannot open log file " + log_file_.string());
  fd_guard null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (null_fd.get() < 0) throw_errno("process: cannot open /dev/null");
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw_errno("process: pipe2");
  fd_guard error_read(pipe_fds[0]);
  fd_guard error_write(pipe_fds[1]);

  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) throw_errno("process: fork");
  if (child == 0) {
    exec_child(parent, exe.c_str(), c_argv.data(), null_fd.get(), log_fd.get(), error_write.get(),
               options);
  }
  pid_ = child;
  error_write.reset();

  // EOF means exec succeeded (the close-on-exec pipe closed); otherwise the child sent errno.
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(error_read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    kill();
    throw std::runtime_error("process: cannot exec " + exe.string() + ": " +
                             std::strerror(child_errno));
  }
}

process::~process() {
  try {
    stop(std::chrono::seconds(5));
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw
  }
}

process::process(process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      status_(std::exchange(other.status_, std::nullopt)),
      paused_(std::exchange(other.paused_, false)),
      log_file_(std::move(other.log_file_)) {}

process& process::operator=(process&& other) noexcept {
  if (this != &other) {
    try {
      stop();
    } catch (...) {  // NOLINT(bugprone-empty-catch)
    }
    pid_ = std::exchange(other.pid_, -1);
    status_ = std::exchange(other.status_, std::nullopt);
    paused_ = std::exchange(other.paused_, false);
    log_file_ = std::move(other.log_file_);
  }
  return *this;
}

bool process::try_reap() {
  if (pid_ <= 0 || reaped()) return true;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    status_ = status;
  } else if (r < 0) {
    status_ = -1;  // ECHILD: someone else reaped it; it is gone either way.
  }
  if (reaped()) paused_ = false;
  return reaped();
}

bool process::alive() { return !try_reap(); }

void process::signal(int sig) {
  if (pid_ <= 0 || reaped()) return;
  if (::kill(pid_, sig) != 0 && errno != ESRCH) throw_errno("process: kill");
}

void process::kill() {
  if (pid_ <= 0 || reaped()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  status_ = r == pid_ ? status : -1;
  paused_ = false;
}

void process::pause() {
  signal(SIGSTOP);
  if (!reaped()) paused_ = true;
}

void process::resume() {
  signal(SIGCONT);
  paused_ = false;
}

void process::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0 || try_reap()) return;
  signal(SIGTERM);
  signal(SIGCONT);  // a stopped child only acts on SIGTERM once continued
  paused_ = false;
  if (!wait_for_exit(grace)) kill();
}

std::optional<int> process::wait_for_exit(std::chrono::milliseconds timeout) {
  if (!poll_until(deadline_after(timeout), [this] { return try_reap(); }, reap_poll_interval))
    return std::nullopt;
  return status_;
}

std::string process::log_tail(std::size_t max_bytes) const {
  return file_tail(log_file_, max_bytes);
}

void stop_all(const std::vector<process*>& processes, std::chrono::milliseconds grace) {
  for (process* p : processes) {
    if (p != nullptr && p->alive()) {
      p->signal(SIGTERM);
      p->signal(SIGCONT);
    }
  }
  const deadline until = deadline_after(grace);
  for (process* p : processes) {
    if (p != nullptr) p->stop(remaining(until));
  }
}

temp_dir::temp_dir(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + "XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw_errno("temp_dir: mkdtemp " + pattern);
  path_ = pattern;
}

temp_dir::~temp_dir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

temp_dir::temp_dir(temp_dir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

temp_dir& temp_dir::operator=(temp_dir&& other) noexcept {
  if (this != &other) {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

}  // namespace owcore::test
