// The Lua scripts of RedisSessionStore (redis_session_store.h documents the key layout). Internal
// to redis_session_store.cc. Each script is the shared prelude followed by its body; every script
// takes no KEYS (it builds key names from the prefix, so it needs a standalone Redis, not Redis
// Cluster) and the same first four ARGV:
//   ARGV[1] key prefix, ARGV[2] now (ms since the epoch, from the store's clock),
//   ARGV[3] expiry grace (ms), ARGV[4] tombstone retention (ms; 0 = write no tombstones).
// Numbers are written with string.format('%d') so large millisecond values never turn into
// exponent notation.
#ifndef MINIMIND_SERVICE_SESSIONS_REDIS_SESSION_SCRIPTS_H_
#define MINIMIND_SERVICE_SESSIONS_REDIS_SESSION_SCRIPTS_H_

namespace minimind {
namespace sessions_internal {

inline constexpr char kRedisScriptPrelude[] = R"lua(
local P = ARGV[1]
local now = tonumber(ARGV[2])
local grace = tonumber(ARGV[3])
local tomb_ms = tonumber(ARGV[4])
local U = P .. 'u'
local X = P .. 'x'
local function int(n) return string.format('%d', n) end
local function skey(id) return P .. 's:' .. id end
local function lkey(id) return P .. 'l:' .. id end
local function tkey(id) return P .. 't:' .. id end
local function okey(owner) return P .. 'o:' .. owner end
local function tombstone(id) return redis.call('GET', tkey(id)) or '' end
local function remove(id, reason)
  local owner = redis.call('HGET', skey(id), 'owner')
  redis.call('DEL', skey(id), lkey(id))
  redis.call('ZREM', U, id)
  redis.call('ZREM', X, id)
  if owner then redis.call('ZREM', okey(owner), id) end
  -- The tombstone names its owner: only the owner learns why the session is gone.
  if tomb_ms > 0 then
    redis.call('SET', tkey(id), (owner or '') .. '\n' .. reason, 'PX', int(tomb_ms))
  end
end
local function use(id)
  local s = skey(id)
  local f = redis.call('HMGET', s, 'last_used', 'ttl')
  local last_used = math.max(tonumber(f[1]), now)
  local ttl = tonumber(f[2])
  redis.call('HSET', s, 'last_used', int(last_used))
  redis.call('ZADD', X, int(last_used + ttl), id)
  redis.call('ZADD', U, int(redis.call('INCR', P .. 'seq')), id)
  redis.call('PEXPIRE', s, int(ttl + grace))
end
)lua";

// ARGV[5] id, [6] owner, [7] op: get | touch | begin | fork | delete, [8] lease token,
// [9] lease ms. Returns {'gone', tombstone} | {'expired', ttl_ms} | {'foreign'} | {'busy'} |
// {'ok', busy '0'/'1', turns, HGETALL or {}}. get, begin and fork read the record; every op but
// get is a use; begin takes the lease.
inline constexpr char kRedisAccessScript[] = R"lua(
local id, owner, op = ARGV[5], ARGV[6], ARGV[7]
local s = skey(id)
if redis.call('EXISTS', s) == 0 then return {'gone', tombstone(id)} end
local f = redis.call('HMGET', s, 'owner', 'last_used', 'ttl', 'turns')
local busy = redis.call('EXISTS', lkey(id)) == 1
if f[1] ~= owner then return {'foreign'} end
if not busy and tonumber(f[2]) + tonumber(f[3]) <= now then
  remove(id, 'expired ' .. f[3])
  return {'expired', f[3]}
end
if op == 'delete' then
  remove(id, 'deleted')
  return {'ok', busy and '1' or '0', f[4], {}}
end
if op == 'begin' then
  if busy then return {'busy'} end
  redis.call('SET', lkey(id), ARGV[8], 'PX', ARGV[9])
  busy = true
end
if op ~= 'get' then use(id) end
local record = {}
if op ~= 'touch' then record = redis.call('HGETALL', s) end
return {'ok', busy and '1' or '0', f[4], record}
)lua";

// ARGV[5] id, [6] owner, [7] max sessions, [8...] field/value pairs of the new record. Makes
// room first: drops index entries of records Redis expired and evicts least recently used idle
// sessions. Returns {'full'} | {'ok', evicted}.
inline constexpr char kRedisCreateScript[] = R"lua(
local id, owner, max = ARGV[5], ARGV[6], tonumber(ARGV[7])
local evicted = 0
local function evict_one()
  local offset = 0
  while true do
    local ids = redis.call('ZRANGE', U, offset, offset + 63)
    if #ids == 0 then return false end
    for _, candidate in ipairs(ids) do
      if redis.call('EXISTS', skey(candidate)) == 0 then
        redis.call('ZREM', U, candidate)
        redis.call('ZREM', X, candidate)
        return true
      end
      if redis.call('EXISTS', lkey(candidate)) == 0 then
        remove(candidate, 'evicted')
        evicted = evicted + 1
        return true
      end
    end
    offset = offset + #ids
  end
end
while redis.call('ZCARD', U) >= max do
  if not evict_one() then return {'full'} end
end
local s = skey(id)
local fields = {}
for i = 8, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', s, unpack(fields))
local f = redis.call('HMGET', s, 'last_used', 'ttl')
redis.call('ZADD', okey(owner), 0, id)
redis.call('ZADD', X, int(tonumber(f[1]) + tonumber(f[2])), id)
redis.call('ZADD', U, int(redis.call('INCR', P .. 'seq')), id)
redis.call('PEXPIRE', s, int(tonumber(f[2]) + grace))
return {'ok', evicted}
)lua";

// ARGV[5] id, [6] lease token, [7] appended messages (JSON lines), [8] how many, [9] tokens
// (packed int32), [10] how many, [11] apply-by (Unix ms, wall clock), [12] the context window's
// first message. Returns {'gone', tombstone}
// | {'lost'} (the lease is no longer this token's) | {'late'} (Redis runs it after apply-by: the
// caller has given up and reported the turn unsaved, so it must not land now) | {'ok', turns}.
// Idempotent: the hash remembers the last committed token, so a commit sent again after its reply
// was lost (a timeout while Redis was paused, then a retry) answers 'ok' without applying twice.
inline constexpr char kRedisCommitScript[] = R"lua(
local id = ARGV[5]
local s = skey(id)
if redis.call('EXISTS', s) == 0 then return {'gone', tombstone(id)} end
if redis.call('GET', lkey(id)) ~= ARGV[6] then
  if redis.call('HGET', s, 'committed') == ARGV[6] then
    return {'ok', tonumber(redis.call('HGET', s, 'turns'))}
  end
  return {'lost'}
end
local clock = redis.call('TIME')
if tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) > tonumber(ARGV[11]) then
  return {'late'}
end
if ARGV[7] ~= '' then
  redis.call('HSET', s, 'messages', (redis.call('HGET', s, 'messages') or '') .. ARGV[7])
end
redis.call('HINCRBY', s, 'num_messages', ARGV[8])
redis.call('HSET', s, 'tokens', ARGV[9], 'num_tokens', ARGV[10], 'committed', ARGV[6],
           'window', ARGV[12])
local turns = redis.call('HINCRBY', s, 'turns', 1)
redis.call('DEL', lkey(id))
use(id)
return {'ok', turns}
)lua";

// ARGV[5] id, [6] lease token. Ends the lease if it is still this token's (a use of the
// session). Returns 1 if it was.
inline constexpr char kRedisReleaseScript[] = R"lua(
local id = ARGV[5]
if redis.call('GET', lkey(id)) ~= ARGV[6] then return 0 end
redis.call('DEL', lkey(id))
if redis.call('EXISTS', skey(id)) == 1 then use(id) end
return 1
)lua";

// ARGV[5] lease ms, [6...] id/token pairs. Extends every lease still held by its token, and its
// session's Redis expiry. Returns the ids whose lease was lost.
inline constexpr char kRedisRenewScript[] = R"lua(
local lost = {}
for i = 6, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  if redis.call('GET', lkey(id)) == token then
    redis.call('PEXPIRE', lkey(id), ARGV[5])
    local ttl = redis.call('HGET', skey(id), 'ttl')
    if ttl then redis.call('PEXPIRE', skey(id), int(tonumber(ttl) + grace)) end
  else
    lost[#lost + 1] = id
  end
end
return lost
)lua";

// ARGV[5] batch size. Pops up to a batch of due expiry entries: removes idle expired sessions
// (with an 'expired' tombstone), reschedules the others. Returns {entries popped, {reaped ids}}.
inline constexpr char kRedisReapScript[] = R"lua(
local due = redis.call('ZRANGEBYSCORE', X, '-inf', int(now), 'LIMIT', 0, tonumber(ARGV[5]))
local reaped = {}
for _, id in ipairs(due) do
  local s = skey(id)
  if redis.call('EXISTS', s) == 0 then
    redis.call('ZREM', X, id)
    redis.call('ZREM', U, id)
  else
    local f = redis.call('HMGET', s, 'last_used', 'ttl')
    local ttl = tonumber(f[2])
    local expires = tonumber(f[1]) + ttl
    if redis.call('EXISTS', lkey(id)) == 1 then
      redis.call('ZADD', X, int(now + ttl), id)
    elseif expires > now then
      redis.call('ZADD', X, int(expires), id)
    else
      remove(id, 'expired ' .. f[2])
      reaped[#reaped + 1] = id
    end
  end
end
return {#due, reaped}
)lua";

// ARGV[5] owner, [6] list after this id ('' = from the start), [7] how many. The owner's live
// sessions in id order, each {id, busy, owner, system, labels, num_messages, num_tokens, turns,
// created, last_used, ttl}; skips expired ones and drops index entries of records Redis expired.
inline constexpr char kRedisListScript[] = R"lua(
local o = okey(ARGV[5])
local min = ARGV[6] == '' and '-' or '(' .. ARGV[6]
local want = tonumber(ARGV[7])
local out = {}
while #out < want do
  local ids = redis.call('ZRANGEBYLEX', o, min, '+', 'LIMIT', 0, want - #out)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    local f = redis.call('HMGET', skey(id), 'owner', 'system', 'labels', 'num_messages',
                         'num_tokens', 'turns', 'created', 'last_used', 'ttl', 'overflow',
                         'window')
    if not f[1] then
      redis.call('ZREM', o, id)
    else
      local busy = redis.call('EXISTS', lkey(id))
      if busy == 1 or tonumber(f[8]) + tonumber(f[9]) > now then
        out[#out + 1] = {id, tostring(busy), f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9],
                         f[10] or '', f[11] or '0'}
      end
    end
    min = '(' .. id
  end
end
return out
)lua";

// ARGV[5...] ids. Returns those whose record is gone.
inline constexpr char kRedisMissingScript[] = R"lua(
local missing = {}
for i = 5, #ARGV do
  if redis.call('EXISTS', skey(ARGV[i])) == 0 then missing[#missing + 1] = ARGV[i] end
end
return missing
)lua";

}  // namespace sessions_internal
}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_REDIS_SESSION_SCRIPTS_H_
