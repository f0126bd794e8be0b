"""The Lua scripts of the distributed crawl. Each runs atomically on the Redis server, so no
two workers ever see a half-done step (a request popped but not leased, a fingerprint recorded
but its request not queued, a token taken twice)."""

from __future__ import annotations

__all__ = ["ACQUIRE", "DRAINED", "ENQUEUE", "JOIN", "KEEP", "LEASE", "PUBLISH", "REQUEUE",
           "REQUEUE_DEAD"]

# Dedupe and push in one step. scrapy-redis's Scheduler does SADD then ZADD as two commands: a
# worker killed between them leaves a fingerprint whose request is never queued, and the
# request is then filtered forever. KEYS: dupefilter, queue, runs; ARGV: fingerprint, score,
# entry, dont_filter ("1"/"0"), run id. Returns 1 queued, 0 duplicate, -1 run no longer active.
ENQUEUE = """
if redis.call('SISMEMBER', KEYS[3], ARGV[5]) == 0 then return -1 end
if ARGV[4] ~= '1' and redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
"""

# Dedupe a child request and lease it straight to the worker that made it (it is crawled there,
# so a spider's in-memory state across a cascade's pages behaves as in one process; if the
# worker dies the lease is re-queued for anyone). KEYS: dupefilter, leases, runs; ARGV:
# fingerprint, dont_filter, run id, lease field, entry. Returns 1 kept, 0 duplicate, -1 over.
KEEP = """
if redis.call('SISMEMBER', KEYS[3], ARGV[3]) == 0 then return -1 end
if ARGV[2] ~= '1' and redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
return 1
"""

# Pop the best request into a lease held by one worker (the Redis "reliable queue" pattern,
# for a sorted set). KEYS: queue, leases; ARGV: worker id, sequence number.
# Returns {lease field, entry} or nil.
LEASE = """
local top = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #top == 0 then return nil end
redis.call('ZREM', KEYS[1], top[1])
local field = ARGV[1] .. '|' .. top[2] .. '|' .. ARGV[2]
redis.call('HSET', KEYS[2], field, top[1])
return {field, top[1]}
"""

# Put leased requests back in the queue with their priority. KEYS: queue, leases; ARGV: fields.
REQUEUE = """
local n = 0
for _, field in ipairs(ARGV) do
  local entry = redis.call('HGET', KEYS[2], field)
  if entry then
    local score = string.match(field, '^[^|]*|([^|]*)|')
    redis.call('ZADD', KEYS[1], tonumber(score), entry)
    redis.call('HDEL', KEYS[2], field)
    n = n + 1
  end
end
return n
"""

# Requeue every lease of a worker whose heartbeat expired; nothing if it is alive (checked in
# the same step, so a worker that beats again meanwhile keeps its leases). KEYS: queue, leases,
# heartbeat, run hash; ARGV: worker id.
REQUEUE_DEAD = """
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local prefix = ARGV[1] .. '|'
local n = 0
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  local field = all[i]
  if string.sub(field, 1, #prefix) == prefix then
    local score = string.match(field, '^[^|]*|([^|]*)|')
    redis.call('ZADD', KEYS[1], tonumber(score), all[i + 1])
    redis.call('HDEL', KEYS[2], field)
    n = n + 1
  end
end
if n > 0 then redis.call('HINCRBY', KEYS[4], 'requeued', n) end
return n
"""

# Announce a run, fenced: only while the monitor-run lock still holds the caller's token (a
# scheduler that lost its lock, e.g. paused past its lease, cannot start crawls). KEYS: runs,
# run hash, lock key; ARGV: run id, spec JSON, platform, token ('' = no lock).
# Returns 1, or 0 when the token is stale.
PUBLISH = """
if ARGV[4] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[4] then return 0 end
redis.call('HSET', KEYS[2], 'spec', ARGV[2], 'platform', ARGV[3], 'seeded', '0')
redis.call('SADD', KEYS[1], ARGV[1])
return 1
"""

# Join a run only while it is active. KEYS: runs, workers; ARGV: run id, worker id.
JOIN = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[2])
return 1
"""

# A run is drained when it was seeded and has neither queued nor leased requests; read in one
# step. KEYS: run hash, queue, leases. Returns {seeded, queued, leased, close_reason}.
DRAINED = """
return {redis.call('HGET', KEYS[1], 'seeded') or '0', redis.call('ZCARD', KEYS[2]),
        redis.call('HLEN', KEYS[3]), redis.call('HGET', KEYS[1], 'close_reason') or ''}
"""

# Rate and concurrency cap for one host, on the server's clock (workers' clocks may disagree).
# The rate is a GCRA token bucket: ``tat`` is the time the next request is due; ``burst``
# requests may go at once after a quiet spell. ARGV[6] = '1' *reserves*: the caller gets the
# next free send time, however far ahead, and sleeps until then without asking again, so grants
# follow the server's schedule exactly. A "try again in N ms" answer instead loses every
# caller's wake-up lateness (1-3 ms each at 60 req/s, ~15% of the rate) and makes all waiting
# workers wake and race for the same token. '0' only grants a request due now.
# KEYS: bucket hash, active zset; ARGV: rate (tokens per second, 0 = no rate limit), burst,
# concurrency (0 = no cap), member, hold (ms a slot is kept if never released), reserve.
# Returns {1, wait_us, now_us} when granted (send after wait_us), {0, retry_ms, now_us} if not.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if cap > 0 and redis.call('ZCARD', KEYS[2]) >= cap then
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  local wait = math.min(math.max((tonumber(first[2]) - now) / 1000, 1), 50)
  return {0, math.ceil(wait), now}
end
local at = now
if rate > 0 then
  local interval = math.ceil(1000000 / rate)  -- whole µs, rounded up: never faster
  local tat = math.max(tonumber(redis.call('HGET', KEYS[1], 'tat')) or now, now)
  at = math.max(now, tat - (burst - 1) * interval)
  if at > now and ARGV[6] ~= '1' then
    return {0, math.max(1, math.ceil((at - now) / 1000)), now}
  end
  redis.call('HSET', KEYS[1], 'tat', tat + interval)
  redis.call('PEXPIRE', KEYS[1], math.ceil((tat + interval - now) / 1000) + 60000)
end
if cap > 0 then
  redis.call('ZADD', KEYS[2], at + tonumber(ARGV[5]) * 1000, ARGV[4])
  redis.call('PEXPIRE', KEYS[2], math.ceil((at - now) / 1000) + tonumber(ARGV[5]) + 60000)
end
return {1, at - now, now}
"""
