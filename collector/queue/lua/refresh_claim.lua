-- Reset an entry's idle time only while ARGV[2] (a consumer) holds it; JUSTID keeps the
-- delivery count. KEYS[1] stream, ARGV[1] group, ARGV[2] consumer, ARGV[3] entry id. Returns 1 or 0.
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1
