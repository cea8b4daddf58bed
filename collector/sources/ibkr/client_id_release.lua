-- Give back a client id claim, only if ARGV[1] (our token) still holds KEYS[1].
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
