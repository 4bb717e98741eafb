#include "owcore/yjs/error.hpp"

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

namespace owcore::yjs {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "owcore.yjs"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::truncated: return "truncated update";
      case error::integer_overflow: return "integer above 2^53-1 or varint longer than 10 bytes";
      case error::clock_overflow: return "clock above the 2^32-1 limit";
      case error::count_too_large: return "count larger than the remaining bytes can hold";
      case error::invalid_utf8: return "invalid UTF-8";
      case error::invalid_any_tag: return "unknown Any tag";
      case error::nesting_too_deep: return "nesting too deep";
      case error::invalid_struct_ref: return "invalid struct ref";
      case error::invalid_type_ref: return "invalid type ref";
      case error::invalid_json: return "invalid JSON";
      case error::invalid_doc_options: return "subdocument options are not an object";
      case error::limit_exceeded: return "size limit exceeded";
    }
    return "unknown yjs error";
  }
};

}  // namespace

const boost::system::error_category& yjs_category() noexcept {
  static const category instance;
  return instance;
}

std::string decode_error::message() const {
  std::string out = "update " + std::to_string(input) + ", byte " + std::to_string(offset) + ": " +
                    make_error_code(code).message();
  if (context != nullptr && *context != '\0') {
    out += " (";
    out += context;
    out += ')';
  }
  return out;
}

void throw_exception_from_error(const decode_error& e, const boost::source_location& loc) {
  boost::throw_exception(boost::system::system_error(make_error_code(e.code), e.message()), loc);
}

}  // namespace owcore::yjs
