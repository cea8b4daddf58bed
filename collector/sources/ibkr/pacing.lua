-- IB's three historical-data pacing rules, checked and recorded atomically on the Redis
-- server's clock. KEYS: identical-request zset, burst zset (contract + data type), small-bar
-- window zset, penalty key. ARGV: signature, token, weight, identical window, burst window,
-- burst max, window, window max. Returns the seconds to wait (as a string); '0' = recorded.
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local sig, token, weight = ARGV[1], ARGV[2], tonumber(ARGV[3])
local iw, bw, bmax = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local w, wmax = tonumber(ARGV[7]), tonumber(ARGV[8])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - iw)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - bw)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - w)
local wait = 0
local penalty = redis.call('PTTL', KEYS[4])
if penalty > 0 then wait = penalty / 1000 end
local last = redis.call('ZSCORE', KEYS[1], sig)
if last then wait = math.max(wait, tonumber(last) + iw - now) end
local n = redis.call('ZCARD', KEYS[2])
if n >= bmax then
  local e = redis.call('ZRANGE', KEYS[2], n - bmax, n - bmax, 'WITHSCORES')
  wait = math.max(wait, tonumber(e[2]) + bw - now)
end
if weight > 0 then
  local excess = redis.call('ZCARD', KEYS[3]) + weight - wmax
  if excess > 0 then
    local e = redis.call('ZRANGE', KEYS[3], excess - 1, excess - 1, 'WITHSCORES')
    wait = math.max(wait, tonumber(e[2]) + w - now)
  end
end
if wait > 0 then return tostring(wait) end
redis.call('ZADD', KEYS[1], now, sig)
redis.call('PEXPIRE', KEYS[1], math.ceil(iw * 1000) + 1000)
redis.call('ZADD', KEYS[2], now, token)
redis.call('PEXPIRE', KEYS[2], math.ceil(bw * 1000) + 1000)
for i = 1, weight do redis.call('ZADD', KEYS[3], now, token .. ':' .. i) end
if weight > 0 then redis.call('PEXPIRE', KEYS[3], math.ceil(w * 1000) + 1000) end
return '0'
