// Child processes for integration tests: fork/exec without a shell, stopped by PID only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace owcore::test {

/// Absolute path of `name` found on $PATH (or `name` itself if it already contains a '/').
/// Throws std::runtime_error when no executable file of that name exists.
std::filesystem::path find_executable(const std::string& name);

/// The last `max_bytes` bytes of a file (cut at a line start when possible); "" if it can't be
/// read. Used to put the relevant log into exception messages.
std::string file_tail(const std::filesystem::path& file, std::size_t max_bytes = 4096);

/// Builds the message for a diagnosable failure: `what`, then the tail of `log` if it is
/// non-empty, framed so it stands out in CI output.
std::string with_log_tail(const std::string& what, const std::filesystem::path& log);

/// A wait status in words: "exit code 1", "killed by signal 9", or "status N" otherwise.
std::string describe_wait_status(int status);

/// Optional settings for process.
struct process_options {
  /// Run the child as this user and group (supplementary groups dropped) instead of the caller's;
  /// needs root. Used for servers that refuse to run as root (PostgreSQL).
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

/// One child process started with fork/exec.
///
/// - argv[0] is resolved with find_executable before forking; no shell is involved.
/// - stdin is /dev/null; stdout and stderr are appended to `log_file`.
/// - The child gets PR_SET_PDEATHSIG=SIGKILL, so it dies with the *thread* that created it
///   (start processes from the test's main thread, not from a short-lived helper thread).
/// - Every operation addresses the child by its PID, and only until it has been reaped: once
///   reaped, signals are no-ops, so a recycled PID is never hit.
/// - The destructor calls stop().
///
/// Thread-safety: none; use one object from one thread at a time. Movable, not copyable.
class process {
 public:
  /// Forks and execs `argv`. Throws std::runtime_error if argv is empty, the executable is
  /// missing, the log file can't be opened, or fork/exec fails (exec failures are reported
  /// synchronously through a close-on-exec pipe).
  process(std::vector<std::string> argv, std::filesystem::path log_file, process_options options = {});
  ~process();

  process(process&& other) noexcept;
  process& operator=(process&& other) noexcept;
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  /// The child's PID; it stays readable after the child is reaped (for "is it gone?" checks).
  pid_t pid() const noexcept { return pid_; }

  /// True until the child has exited. Reaps it (waitpid WNOHANG) if it has.
  bool alive();

  /// True while the child is stopped by pause() and not yet resumed.
  bool paused() const noexcept { return paused_; }

  /// Sends `sig` to the child; a no-op once it has been reaped.
  void signal(int sig);

  /// SIGKILL, then waitpid until reaped. Bounded in practice: SIGKILL can't be caught.
  void kill();

  /// SIGSTOP: the child stops answering but keeps its sockets open (a hung server).
  void pause();

  /// SIGCONT after pause().
  void resume();

  /// Graceful stop: SIGTERM (plus SIGCONT so a paused child can act on it), poll up to `grace`
  /// for the exit, then kill(). Afterwards the child is reaped.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  /// Waits up to `timeout` for the child to exit on its own; returns its wait status
  /// (see WIFEXITED/WEXITSTATUS) or nullopt if it is still running.
  std::optional<int> wait_for_exit(std::chrono::milliseconds timeout);

  /// The wait status once reaped, nullopt before.
  std::optional<int> exit_status() const noexcept { return status_; }

  /// The file that receives the child's stdout and stderr.
  const std::filesystem::path& log_file() const noexcept { return log_file_; }

  /// file_tail(log_file(), max_bytes).
  std::string log_tail(std::size_t max_bytes = 4096) const;

 private:
  bool reaped() const noexcept { return status_.has_value(); }
  bool try_reap();

  pid_t pid_ = -1;
  std::optional<int> status_;
  bool paused_ = false;
  std::filesystem::path log_file_;
};

/// Stops several processes at once: SIGTERM (and SIGCONT) to all of them first, then stop() each
/// with the remaining share of `grace`. Null entries are skipped. Much faster than stopping them
/// one by one when each takes a moment to shut down.
void stop_all(const std::vector<process*>& processes,
              std::chrono::milliseconds grace = std::chrono::seconds(5));

/// A directory made with mkdtemp under /tmp and removed recursively by the destructor.
/// Throws std::runtime_error if it can't be created. Movable, not copyable.
class temp_dir {
 public:
  /// `prefix` becomes /tmp/<prefix>XXXXXX.
  explicit temp_dir(const std::string& prefix = "owcore-test-");
  ~temp_dir();
  temp_dir(temp_dir&& other) noexcept;
  temp_dir& operator=(temp_dir&& other) noexcept;
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace owcore::test
