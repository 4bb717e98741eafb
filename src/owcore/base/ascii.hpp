#pragma once
// ASCII case folding, for names and tokens whose comparison Python or the HTTP RFCs define on
// ASCII only (docs/architecture.md, "base"). Pure; thread-safe.

#include <string>
#include <string_view>

namespace owcore::base {

/// `text` with 'A'-'Z' lowered; every other byte (UTF-8 included) unchanged, as Python's
/// str.lower() does for ASCII and unlike std::tolower under a locale.
std::string ascii_lower(std::string_view text);

}  // namespace owcore::base
