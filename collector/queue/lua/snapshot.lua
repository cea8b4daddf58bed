-- The undelivered backlog and the pending entries (with their fields) of group ARGV[1] on
-- stream KEYS[1], read in one atomic step: {backlog entries, pending entries}.
if redis.call('EXISTS', KEYS[1]) == 0 then return {{}, {}} end
local last = nil
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local name, lid
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'last-delivered-id' then lid = g[i + 1] end
  end
  if name == ARGV[1] then last = lid end
end
if last == nil then return {{}, {}} end
local backlog = redis.call('XRANGE', KEYS[1], '(' .. last, '+')
local pending = {}
for _, p in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1000000)) do
  local e = redis.call('XRANGE', KEYS[1], p[1], p[1])
  if #e > 0 then table.insert(pending, e[1]) end
end
return {backlog, pending}
