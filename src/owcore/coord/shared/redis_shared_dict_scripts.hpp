#pragma once
// The Lua scripts of the Redis shared-dict backend (redis_shared_dict.cpp): Open WebUI's hashes
// kept consistent on every topology (docs/wire.md, "Redis keys"). Internal to coord/shared.
//
// Scripts take the hash as KEYS[1] (and the signed ones its "<key>:signature" as KEYS[2], in the
// same slot) and never touch another key, so Cluster routes them by that key. They are sent with
// EVAL every time (Redis caches the compiled script by its SHA1).

#include <string>
#include <string_view>

namespace owcore::coord::shared::scripts {

// touch: ARGV = model, sid, now.
inline constexpr std::string_view touch_script = R"lua(
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local map = nil
if raw and string.find(raw, '^%s*{') then
  local ok, v = pcall(cjson.decode, raw)
  if ok and type(v) == 'table' then map = v end
end
if map == nil then map = {} end
map[ARGV[2]] = {updated_at = tonumber(ARGV[3])}
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(map))
return 1
)lua";

// remove_sid: ARGV = model, sid. Returns 1 removed, 0 absent, -1 not a JSON object.
inline constexpr std::string_view remove_sid_script = R"lua(
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
if not string.find(raw, '^%s*{') then return -1 end
local ok, map = pcall(cjson.decode, raw)
if not ok or type(map) ~= 'table' then return -1 end
if map[ARGV[2]] == nil then return 0 end
map[ARGV[2]] = nil
if next(map) == nil then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(map))
end
return 1
)lua";

// prune: ARGV = model, older_than. Returns {remaining, removed sids...}, or {-1}.
inline constexpr std::string_view prune_script = R"lua(
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {0} end
if not string.find(raw, '^%s*{') then return {-1} end
local ok, map = pcall(cjson.decode, raw)
if not ok or type(map) ~= 'table' then return {-1} end
local limit = tonumber(ARGV[2])
local out = {0}
local remaining = 0
for sid, e in pairs(map) do
  local t = nil
  if type(e) == 'table' and type(e.updated_at) == 'number' then t = e.updated_at end
  if t ~= nil and t >= limit then
    remaining = remaining + 1
  else
    out[#out + 1] = sid
  end
end
if #out > 1 then
  for i = 2, #out do map[out[i]] = nil end
  if remaining == 0 then
    redis.call('HDEL', KEYS[1], ARGV[1])
  else
    redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(map))
  end
end
out[1] = remaining
return out
)lua";

// A scanner for the top level of a JSON object held as text, so the session-pool scripts can
// change or read one member without decoding and re-encoding the record. member(s, name)
// returns nil when s is not a JSON object; true, vs, ve when the (last) member `name` has its
// value at s[vs, ve); false, close, empty when it is absent (close = index of the final '}').
inline constexpr std::string_view member_scanner = R"lua(
local function ws(s, i) return string.find(s, '[^ \t\r\n]', i) end
local function str_end(s, i)
  local j = i + 1
  while true do
    local p = string.find(s, '["\\]', j)
    if not p then return nil end
    if string.byte(s, p) == 34 then return p + 1 end
    j = p + 2
  end
end
local function val_end(s, i)
  local c = string.byte(s, i)
  if c == 34 then return str_end(s, i) end
  if c == 123 or c == 91 then
    local depth, j = 0, i
    while true do
      local p = string.find(s, '["{}%[%]]', j)
      if not p then return nil end
      local b = string.byte(s, p)
      if b == 34 then
        j = str_end(s, p)
        if not j then return nil end
      else
        if b == 123 or b == 91 then depth = depth + 1 else depth = depth - 1 end
        j = p + 1
        if depth == 0 then return j end
      end
    end
  end
  local p = string.find(s, '[,}%] \t\r\n]', i)
  if p == i then return nil end
  return p
end
local function member(s, name)
  local i = ws(s, 1)
  if not i or string.byte(s, i) ~= 123 then return nil end
  i = ws(s, i + 1)
  if not i then return nil end
  if string.byte(s, i) == 125 then return false, i, true end
  local fs, fe = nil, nil
  while true do
    if string.byte(s, i) ~= 34 then return nil end
    local k = str_end(s, i)
    if not k then return nil end
    local key = string.sub(s, i + 1, k - 2)
    i = ws(s, k)
    if not i or string.byte(s, i) ~= 58 then return nil end
    local vs = ws(s, i + 1)
    if not vs then return nil end
    local ve = val_end(s, vs)
    if not ve then return nil end
    if key == name then fs, fe = vs, ve end
    i = ws(s, ve)
    if not i then return nil end
    local b = string.byte(s, i)
    if b == 125 then
      if fs then return true, fs, fe end
      return false, i, false
    end
    if b ~= 44 then return nil end
    i = ws(s, i + 1)
    if not i then return nil end
  end
end
)lua";

// heartbeat: ARGV = sid, now. Returns 1 updated, 0 absent, -1 not a JSON object.
inline constexpr std::string_view heartbeat_body = R"lua(
local s = redis.call('HGET', KEYS[1], ARGV[1])
if not s then return 0 end
local found, a, b = member(s, 'last_seen_at')
if found == nil then return -1 end
local v
if found then
  v = string.sub(s, 1, a - 1) .. ARGV[2] .. string.sub(s, b)
else
  local sep = ','
  if b then sep = '' end
  v = string.sub(s, 1, a - 1) .. sep .. '"last_seen_at":' .. ARGV[2] .. string.sub(s, a)
end
redis.call('HSET', KEYS[1], ARGV[1], v)
return 1
)lua";

// erase_stale: ARGV = sid, older_than. Returns 1 deleted, 0 kept or absent, -1 not an object.
inline constexpr std::string_view erase_stale_body = R"lua(
local s = redis.call('HGET', KEYS[1], ARGV[1])
if not s then return 0 end
local found, a, b = member(s, 'last_seen_at')
if found == nil then return -1 end
if found then
  local t = tonumber(string.sub(s, a, b - 1))
  if t ~= nil and t >= tonumber(ARGV[2]) then return 0 end
end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
)lua";

// replace_all: ARGV = field1, json1, field2, json2, ... (non-empty). Writes only the fields whose
// stored text differs, deletes the fields not listed. Returns {written, deleted}. Commands are
// issued in batches of 1000 fields to stay within Lua's unpack() stack limit.
inline constexpr std::string_view replace_script = R"lua(
local key = KEYS[1]
local want = {}
for i = 1, #ARGV, 2 do want[ARGV[i]] = ARGV[i + 1] end
local have = redis.call('HGETALL', key)
local cur = {}
for i = 1, #have, 2 do cur[have[i]] = have[i + 1] end
local written, deleted = 0, 0
local batch = {}
for f, v in pairs(want) do
  if cur[f] ~= v then
    batch[#batch + 1] = f
    batch[#batch + 1] = v
    written = written + 1
    if #batch >= 2000 then
      redis.call('HSET', key, unpack(batch))
      batch = {}
    end
  end
end
if #batch > 0 then redis.call('HSET', key, unpack(batch)) end
batch = {}
for f in pairs(cur) do
  if want[f] == nil then
    batch[#batch + 1] = f
    deleted = deleted + 1
    if #batch >= 1000 then
      redis.call('HDEL', key, unpack(batch))
      batch = {}
    end
  end
end
if #batch > 0 then redis.call('HDEL', key, unpack(batch)) end
return {written, deleted}
)lua";

// The signed variants (shared_dict_options::signature), for KEYS[1] = the hash and KEYS[2] = its
// "<key>:signature" in one slot: the write and the signature's deletion in one atomic step.
inline constexpr std::string_view signed_set_script = R"lua(
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
)lua";

inline constexpr std::string_view signed_erase_script = R"lua(
redis.call('DEL', KEYS[2])
return redis.call('HDEL', KEYS[1], ARGV[1])
)lua";

// replace_all with a signature: ARGV = digest, uuid4 hex, field1, json1, ... (non-empty). Python's
// order (DEL signature, HSET, HDEL, SET signature), except that a signature already naming this
// digest is kept when the hash holds exactly the mapping (Python skips such a write too, and a
// new value would make every Python worker refetch the hash for nothing).
inline constexpr std::string_view replace_signed_script = R"lua(
local key, sig, digest = KEYS[1], KEYS[2], ARGV[1]
local want = {}
for i = 3, #ARGV, 2 do want[ARGV[i]] = ARGV[i + 1] end
local have = redis.call('HGETALL', key)
local cur = {}
for i = 1, #have, 2 do cur[have[i]] = have[i + 1] end
local sets, dels = {}, {}
for f, v in pairs(want) do
  if cur[f] ~= v then
    sets[#sets + 1] = f
    sets[#sets + 1] = v
  end
end
for f in pairs(cur) do
  if want[f] == nil then dels[#dels + 1] = f end
end
local old = redis.call('GET', sig)
if #sets == 0 and #dels == 0 and old and string.sub(old, 1, #digest + 1) == digest .. ':' then
  return {0, 0}
end
redis.call('DEL', sig)
for i = 1, #sets, 2000 do redis.call('HSET', key, unpack(sets, i, math.min(i + 1999, #sets))) end
for i = 1, #dels, 1000 do redis.call('HDEL', key, unpack(dels, i, math.min(i + 999, #dels))) end
redis.call('SET', sig, digest .. ':' .. ARGV[2])
return {#sets / 2, #dels}
)lua";

// replace_all of an empty mapping: DEL, counting the fields it removed.
inline constexpr std::string_view clear_script = R"lua(
local n = redis.call('HLEN', KEYS[1])
redis.call('DEL', KEYS[1])
return n
)lua";

/// The heartbeat and erase_stale scripts with the member scanner in front; built once, thread-safe.
const std::string& heartbeat_script();
const std::string& erase_stale_script();

}  // namespace owcore::coord::shared::scripts
