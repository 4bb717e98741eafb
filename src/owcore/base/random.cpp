#include "owcore/base/random.hpp"

#include <cerrno>
#include <system_error>

#include <sys/random.h>

namespace owcore::base {

void random_fill(void* out, std::size_t size) {
  auto* p = static_cast<unsigned char*>(out);
  while (size > 0) {
    // getrandom returns at most 32 MiB per call and may be interrupted by a signal before
    // returning anything; loop on both.
    const ssize_t n = ::getrandom(p, size, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

std::string random_bytes(std::size_t size) {
  std::string out(size, '\0');
  random_fill(out.data(), out.size());
  return out;
}

std::uint64_t random_u64() {
  std::uint64_t v = 0;
  random_fill(&v, sizeof v);
  return v;
}

}  // namespace owcore::base
