#include "owcore/redis/protocol/resp.hpp"

#include "owcore/redis/error.hpp"

#include <hiredis/hiredis.h>

#include <cstdint>

namespace owcore::redis {
namespace {

struct reply_object_deleter {
  void operator()(void* r) const noexcept { freeReplyObject(r); }
};
using reply_object = std::unique_ptr<void, reply_object_deleter>;

reply convert(const redisReply& r) {
  reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = reply::kind::string;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = reply::kind::status;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = reply::kind::error;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = reply::kind::integer;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = reply::kind::array;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(convert(*r.element[i]));
      break;
    default:
      out.type = reply::kind::nil;
  }
  return out;
}

// hiredis's own reply constructors, with createArray bounded by the element limit the parser
// keeps in the reader's privdata (a number, not a pointer, so a moved parser stays valid).
struct bounded_functions {
  redisReplyObjectFunctions fn{};
  void* (*create_array)(const redisReadTask*, int) = nullptr;
};

const bounded_functions& functions();

void* create_bounded_array(const redisReadTask* task, int elements) {
  const auto limit = reinterpret_cast<std::uintptr_t>(task->privdata);
  if (elements > 0 && static_cast<std::uintptr_t>(elements) > limit) return nullptr;  // hiredis: OOM error
  return functions().create_array(task, elements);
}

const bounded_functions& functions() {
  static const bounded_functions f = [] {
    bounded_functions b;
    redisReader* probe = redisReaderCreate();
    if (!probe) throw std::bad_alloc();
    b.fn = *probe->fn;
    redisReaderFree(probe);
    b.create_array = b.fn.createArray;
    b.fn.createArray = create_bounded_array;
    return b;
  }();
  return f;
}

}  // namespace

void encode_command(std::string& out, std::span<const std::string_view> args) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (auto a : args) {
    out += '$';
    out += std::to_string(a.size());
    out += "\r\n";
    out.append(a.data(), a.size());
    out += "\r\n";
  }
}

void reply_parser::reader_deleter::operator()(redisReader* r) const noexcept { redisReaderFree(r); }

reply_parser::reply_parser(std::size_t max_buffered)
    : reader_(redisReaderCreateWithFunctions(const_cast<redisReplyObjectFunctions*>(&functions().fn))),
      max_buffered_(max_buffered) {
  if (!reader_) throw std::bad_alloc();
  reader_->privdata = reinterpret_cast<void*>(static_cast<std::uintptr_t>(max_buffered / 4));
}
reply_parser::reply_parser(reply_parser&&) noexcept = default;
reply_parser& reply_parser::operator=(reply_parser&&) noexcept = default;
reply_parser::~reply_parser() = default;

boost::system::error_code reply_parser::feed(std::string_view bytes) {
  if (reader_->err) return error::protocol_error;
  if (reader_->len - reader_->pos + bytes.size() > max_buffered_) return error::reply_too_large;
  if (redisReaderFeed(reader_.get(), bytes.data(), bytes.size()) != REDIS_OK)
    return error::protocol_error;
  return {};
}

std::optional<reply> reply_parser::next(boost::system::error_code& ec) {
  ec.clear();
  void* raw = nullptr;
  if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
    ec = error::protocol_error;
    return std::nullopt;
  }
  if (!raw) return std::nullopt;
  reply_object owned(raw);
  return convert(*static_cast<redisReply*>(raw));
}

}  // namespace owcore::redis
