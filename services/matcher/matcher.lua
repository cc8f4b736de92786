-- matcher: Redis functions of the matcher service (appended to common/bus.lua).
-- Keys: tp:{T}:matcher:*  — assignments (why this workshop), the person's
-- pathway (assigned and completed kinds), figures.

-- assign: the first assessment of a referral.
-- KEYS 1 assignment:<referral_id>  2 person:<pid>  3 fig:<day>  4 fig:total
-- ARGV 1 referral_id  2 pid  3 kind ('' = no workshop)  4 kind title  5 level
--      6 score  7 outcome  8 reason (French)  9 rules version  10 now_ms
--      11 availability  12 branch
command('assign', function(keys, args)
  -- every delivery that got past the idempotency mark, counted before the
  -- business check: more than 1 means the referral reached the matcher twice
  redis.call('HINCRBY', keys[1], 'received', 1)
  local prev = redis.call('HGET', keys[1], 'outcome')
  if prev then
    return {'dup', 'referral_id', args[1], 'person_id', args[2], 'status', prev}
  end
  local kind, outcome, now = args[3], args[7], args[10]
  redis.call('HSET', keys[1], 'person_id', args[2], 'kind', kind, 'kind_title', args[4], 'level', args[5],
             'score', args[6], 'outcome', outcome, 'reason', args[8], 'rules', args[9], 'decided_ms', now,
             'source', 'referral', 'branch', args[12])
  if redis.call('HSETNX', keys[2], 'accompanied_ms', now) == 1 then
    redis.call('HINCRBY', keys[4], 'accompanied', 1)
    redis.call('HINCRBY', keys[3], 'accompanied', 1)
  end
  if args[11] ~= '' then redis.call('HSET', keys[2], 'availability', args[11]) end
  redis.call('HSET', keys[2], 'level', args[5], 'outcome', outcome, 'assessed_ms', now)
  if kind ~= '' then
    redis.call('HSET', keys[2], 'assigned:' .. kind, now)
    redis.call('HINCRBY', keys[3], 'assigned:' .. kind, 1)
    redis.call('HINCRBY', keys[4], 'assigned:' .. kind, 1)
  end
  redis.call('HINCRBY', keys[3], 'outcome:' .. outcome, 1)
  redis.call('HINCRBY', keys[3], 'level:' .. args[5], 1)
  return {'ok', 'referral_id', args[1], 'person_id', args[2], 'status', outcome}
end)

-- follow_up: the next step after a workshop, chosen among candidates the
-- service prepared (one outgoing TrackAssigned each, in the same order):
-- the first not completed yet, or the first when it was asked for by name.
-- KEYS 1 followup:<id>  2 person:<pid>  3 fig:<day>  4 fig:total
-- ARGV 1 follow_up_id  2 pid  3 completed kind  4 now_ms  5 '1' if asked by name
--      6.. candidate kinds
command('follow_up', function(keys, args)
  local prev = redis.call('HGET', keys[1], 'status')
  if prev then return {'dup', 'person_id', args[2], 'status', prev} end
  local now = args[4]
  if args[3] ~= '' then redis.call('HSET', keys[2], 'completed:' .. args[3], now) end
  for i = 6, #args do
    local kind = args[i]
    if (i == 6 and args[5] == '1') or redis.call('HEXISTS', keys[2], 'completed:' .. kind) == 0 then
      redis.call('HSET', keys[1], 'person_id', args[2], 'kind', kind, 'status', 'assigned:' .. kind, 'decided_ms', now)
      redis.call('HSET', keys[2], 'assigned:' .. kind, now)
      redis.call('HINCRBY', keys[3], 'followup:' .. kind, 1)
      redis.call('HINCRBY', keys[4], 'assigned:' .. kind, 1)
      return {'ok', 'person_id', args[2], 'status', 'assigned:' .. kind}, {[i - 5] = true}
    end
  end
  -- nothing left on the pathway: recorded, and a re-assessment is offered
  redis.call('HSET', keys[1], 'person_id', args[2], 'kind', '', 'status', 'pathway_finished', 'decided_ms', now)
  redis.call('HSET', keys[2], 'pathway_finished_ms', now, 'reassessment_offered_ms', now)
  redis.call('HINCRBY', keys[3], 'pathway_finished', 1)
  return {'ok', 'person_id', args[2], 'status', 'pathway_finished'}, {}
end)
