-- reporter: Redis functions of the reporter service (appended to common/bus.lua, which
-- provides command(), step() and the outbox functions). Keys: tp:{T}:reporter:*
--   closed:<from>:<to>  the frozen aggregate of a closed period (JSON, docs/figures.md):
--                       written once, never replaced
--   periods             hash "<from>:<to>" -> when it was closed (ms)
-- The reporter reads every other service's figures (tp:{T}:<svc>:fig:*) and
-- writes nothing else.

-- close_period: freezes a period's aggregate (computed by the reporter from
-- the figures when the command came); a period closed already stays as it
-- was.
command('close_period', {keys = {'closed', 'periods'}, args = {'from', 'to', 'aggregate', 'now_ms'}}, function(k, a)
  if redis.call('EXISTS', k.closed) == 1 then
    return {'dup', 'status', 'closed'}
  end
  redis.call('SET', k.closed, a.aggregate)
  redis.call('HSET', k.periods, a.from .. ':' .. a.to, a.now_ms)
  return {'ok', 'status', 'closed'}
end)
