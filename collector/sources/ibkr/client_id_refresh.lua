-- Keep a client id claim: extend it while ARGV[1] (our token) holds KEYS[1], or take it again
-- if it expired meanwhile. ARGV[2] is the TTL in ms. Returns 1 when the claim is ours.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
