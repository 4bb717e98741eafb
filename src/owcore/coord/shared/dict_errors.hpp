#pragma once
// Internal to coord/shared: the shared dict's error results, shared by its memory backend
// (shared_dict.cpp) and its Redis backend (redis_shared_dict.cpp).

#include "owcore/coord/shared/failure.hpp"
#include "owcore/coord/shared/shared_dict.hpp"

namespace owcore::coord::shared::detail {

/// A stored value that is not the expected JSON (error::bad_value).
inline failure bad_value() { return fail(make_error_code(error::bad_value)); }

/// A Redis reply of an unexpected shape (error::unexpected_reply).
inline failure unexpected() { return fail(make_error_code(error::unexpected_reply)); }

}  // namespace owcore::coord::shared::detail
