-- Clears a board: appends a clear entry and drops every entry before it.
-- KEYS[1] the board's stream; ARGV[1] its cap (MAXLEN); ARGV[2] its TTL in
-- milliseconds. Returns the clear entry's ID.
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '*', 'c', '1')
redis.call('XTRIM', KEYS[1], 'MINID', id)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return id
