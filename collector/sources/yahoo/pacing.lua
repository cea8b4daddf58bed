-- One request slot every ARGV[1] ms across every collector, on the Redis server's clock.
-- KEYS[1] holds the next free slot (ms). Returns how long this request waits (ms).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, free)
local spacing = tonumber(ARGV[1])
redis.call('SET', KEYS[1], slot + spacing, 'PX', slot - now + spacing + 1000)
return slot - now

