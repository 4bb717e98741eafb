#pragma once
// Random (version 4, RFC 9562 variant) UUIDs, as Python's uuid.uuid4() makes them
// (docs/architecture.md, "base"). Thread-safe; bytes come from random.hpp.

#include <string>

namespace owcore::base {

/// `str(uuid.uuid4())`: 36 characters "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", lowercase hex,
/// y in [89ab]. Throws std::system_error only if the CSPRNG fails.
std::string uuid4();

/// `uuid.uuid4().hex`: the same 128 bits as 32 lowercase hex digits without dashes. Throws as
/// uuid4().
std::string uuid4_hex();

}  // namespace owcore::base
