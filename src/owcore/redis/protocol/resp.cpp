#include "owcore/redis/protocol/resp.hpp"

#include "owcore/redis/error.hpp"

#include <hiredis/hiredis.h>

#include <charconv>
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

// `prefix` then the decimal `n` then CRLF, without a temporary string.
void append_header(std::string& out, char prefix, std::size_t n) {
  char buf[24];
  buf[0] = prefix;
  auto [end, ec] = std::to_chars(buf + 1, buf + sizeof buf - 2, n);
  (void)ec;  // 20 digits always fit
  end[0] = '\r';
  end[1] = '\n';
  out.append(buf, static_cast<std::size_t>(end + 2 - buf));
}

template <class String>
void encode_args(std::string& out, std::span<const String> args) {
  std::size_t need = 16;
  for (const auto& a : args) need += a.size() + 16;
  out.reserve(out.size() + need);
  append_header(out, '*', args.size());
  for (const auto& a : args) {
    append_header(out, '$', a.size());
    out.append(a.data(), a.size());
    out.append("\r\n", 2);
  }
}

// The decimal hiredis 0.14's readLongLong accepts, restricted to what cannot overflow:
// an optional '-' and 1..18 digits. nullopt: leave the line to hiredis.
std::optional<std::int64_t> small_decimal(std::string_view s) {
  bool neg = false;
  if (!s.empty() && s.front() == '-') {
    neg = true;
    s.remove_prefix(1);
  }
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return neg ? -v : v;
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
  encode_args(out, args);
}

void encode_command(std::string& out, std::span<const std::string> args) { encode_args(out, args); }

namespace {

// Decodes one top-level status, error, integer or bulk string reply at the start of `in` when
// it is complete and hiredis 0.14 would decode it the same way (its processLineItem and
// processBulkItem: the line ends at the first CRLF; a negative bulk length is nil; the two bytes
// after a bulk payload are skipped unchecked). Returns the bytes consumed, 0 to leave it to hiredis.
std::size_t decode_simple(std::string_view in, reply& out) {
  if (in.size() < 3) return 0;
  const char t = in[0];
  if (t != '+' && t != '-' && t != ':' && t != '$') return 0;
  const auto eol = in.find("\r\n", 1);
  if (eol == std::string_view::npos) return 0;
  const auto line = in.substr(1, eol - 1);
  const std::size_t head = eol + 2;
  switch (t) {
    case '+':
    case '-':
      out.type = t == '+' ? reply::kind::status : reply::kind::error;
      out.str.assign(line.data(), line.size());
      return head;
    case ':': {
      const auto v = small_decimal(line);
      if (!v) return 0;
      out.type = reply::kind::integer;
      out.integer = *v;
      return head;
    }
    default: {
      const auto len = small_decimal(line);
      if (!len) return 0;
      if (*len < 0) {
        out.type = reply::kind::nil;
        return head;
      }
      const auto n = static_cast<std::size_t>(*len);
      if (in.size() - head < n + 2) return 0;
      out.type = reply::kind::string;
      out.str.assign(in.data() + head, n);
      return head + n + 2;
    }
  }
}

}  // namespace

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
  auto& rd = *reader_;
  // Fast path: no reply in progress (ridx -1, or 0 with no type read yet) and bytes buffered.
  const bool idle = rd.err == 0 && (rd.ridx == -1 || (rd.ridx == 0 && rd.rstack[0].type < 0));
  if (idle && rd.pos < rd.len) {
    reply out;
    const auto used = decode_simple(std::string_view(rd.buf + rd.pos, rd.len - rd.pos), out);
    if (used > 0) {
      rd.pos += used;
      return out;
    }
  }
  // hiredis also compacts its buffer here (once at least 1 KiB was consumed).
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
