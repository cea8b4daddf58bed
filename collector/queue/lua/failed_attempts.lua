-- Failed sign-in / Bearer attempts of one client address, as a sliding log on the Redis
-- server's clock (shared by every web worker). KEYS[1]: the address's sorted set.
-- ARGV: window seconds, most failures allowed in it, '1' to record one failure now (or '0'
-- only to look), a unique member. Returns the seconds until one more attempt is allowed,
-- as a string; '0' = allowed now.
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
end
local n = redis.call('ZCARD', KEYS[1])
if n < limit then return '0' end
local e = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
return tostring(tonumber(e[2]) + window - now)
