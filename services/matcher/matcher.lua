-- matcher: Redis functions of the matcher service (appended to common/bus.lua).
-- Keys: tp:{T}:matcher:*  — assignments (why this workshop), the person's
-- pathway (assigned and completed kinds), figures, and worklist: zset ms ->
-- 'questionnaire|<pid>' (level not determined: the questionnaire is to be
-- done again) or 'reassessment|<pid>' (the pathway is finished: a
-- re-assessment is offered), until the person's next assessment
-- (tremplin worklist).

-- The worklist key of a call, from one of its keys.
local function worklist_of(key) return string.match(key, '^(tp:{[^}]*}:matcher:)') .. 'worklist' end

-- A figure of the day and of the total, with its variants by branch
-- (field@b:<branch>) and by the mediator's partner (field@p:<partner>) when
-- they are known (docs/figures.md).
local function fig_by(k, field, branch, partner)
  local fields = {field}
  if branch ~= '' then put(fields, field .. '@b:' .. branch) end
  if partner ~= '' then put(fields, field .. '@p:' .. partner) end
  for _, f in ipairs(fields) do fig_count(k.fig_day, k.fig_total, f) end
end

-- assign: the first assessment of a referral. kind: '' for no workshop;
-- reason: in French; rules: the catalogue's and questionnaire's versions;
-- availability: a list, '' when not given; partner: the mediator's ('' from
-- an older intake).
command('assign', {
  keys = {'assignment', 'person', 'fig_day', 'fig_total'},
  args = {'referral_id', 'person_id', 'kind', 'kind_title', 'level', 'score', 'outcome', 'reason', 'rules', 'now_ms',
          'availability', 'branch', 'partner'},
}, function(k, a)
  -- every delivery that got past the idempotency mark, counted before the
  -- business check: more than 1 means the referral reached the matcher twice
  redis.call('HINCRBY', k.assignment, 'received', 1)
  local prev = redis.call('HGET', k.assignment, 'outcome')
  if prev then
    return {'dup', 'referral_id', a.referral_id, 'person_id', a.person_id, 'status', prev}
  end
  local kind, outcome, now = a.kind, a.outcome, a.now_ms
  redis.call('HSET', k.assignment, 'person_id', a.person_id, 'kind', kind, 'kind_title', a.kind_title,
             'level', a.level, 'score', a.score, 'outcome', outcome, 'reason', a.reason, 'rules', a.rules,
             'decided_ms', now, 'source', 'referral', 'branch', a.branch)
  local b, p = a.branch, a.partner
  -- the person as it was, then written once
  local was = redis.call('HMGET', k.person, 'accompanied_ms', 'level', 'first_assigned_ms')
  local person = {'level', a.level, 'outcome', outcome, 'assessed_ms', now}
  if not was[1] then
    put(person, 'accompanied_ms', now)
    fig_by(k, 'accompanied', b, p)
  end
  -- the level at entry (the person's first assessment) or at a
  -- re-assessment (a later referral of the same person), and the move
  local before = was[2]
  if before then
    fig_incr(k.fig_day, 'level_reassessed:' .. a.level, 1)
    fig_incr(k.fig_day, 'level_change:' .. before .. ':' .. a.level, 1)
  else
    fig_incr(k.fig_day, 'level_entry:' .. a.level, 1)
  end
  if a.availability ~= '' then put(person, 'availability', a.availability) end
  -- an assessment answers what the mediator was asked for; an undetermined
  -- one asks again
  local wl = worklist_of(k.person)
  if outcome == 'reassess' then
    redis.call('ZREM', wl, 'reassessment|' .. a.person_id)
    redis.call('ZADD', wl, now, 'questionnaire|' .. a.person_id)
  else
    redis.call('ZREM', wl, 'reassessment|' .. a.person_id, 'questionnaire|' .. a.person_id)
  end
  fig_by(k, 'assessed', b, p)
  if kind ~= '' then
    put(person, 'assigned:' .. kind, now)
    fig_by(k, 'assigned:' .. kind, b, p)
    if not was[3] then
      put(person, 'first_assigned_ms', now)
      fig_by(k, 'people_assigned', b, p)
    end
  end
  redis.call('HSET', k.person, unpack(person))
  fig_incr(k.fig_day, 'outcome:' .. outcome, 1)
  fig_incr(k.fig_day, 'level:' .. a.level, 1)
  return {'ok', 'referral_id', a.referral_id, 'person_id', a.person_id, 'status', outcome}
end)

-- follow_up: the next step after a workshop, chosen among candidates the
-- service prepared (one outgoing TrackAssigned each, in the same order):
-- the first not completed yet, or the first when it was asked for by name
-- (asked '1'). completed_kind: '' when none.
command('follow_up', {
  keys = {'followup', 'person', 'fig_day', 'fig_total'},
  args = {'follow_up_id', 'person_id', 'completed_kind', 'now_ms', 'asked', 'candidates'},
}, function(k, a)
  local prev = redis.call('HGET', k.followup, 'status')
  if prev then return {'dup', 'person_id', a.person_id, 'status', prev} end
  local now = a.now_ms
  if a.completed_kind ~= '' then redis.call('HSET', k.person, 'completed:' .. a.completed_kind, now) end
  for i, kind in ipairs(words(a.candidates)) do
    if (i == 1 and a.asked == '1') or redis.call('HEXISTS', k.person, 'completed:' .. kind) == 0 then
      redis.call('HSET', k.followup, 'person_id', a.person_id, 'kind', kind, 'status', 'assigned:' .. kind,
                 'decided_ms', now)
      redis.call('HSET', k.person, 'assigned:' .. kind, now)
      fig_incr(k.fig_day, 'followup:' .. kind, 1)
      fig_incr(k.fig_total, 'assigned:' .. kind, 1)
      return {'ok', 'person_id', a.person_id, 'status', 'assigned:' .. kind}, {[i] = true}
    end
  end
  -- nothing left on the pathway: recorded, and a re-assessment is offered
  redis.call('HSET', k.followup, 'person_id', a.person_id, 'kind', '', 'status', 'pathway_finished', 'decided_ms', now)
  redis.call('HSET', k.person, 'pathway_finished_ms', now, 'reassessment_offered_ms', now)
  redis.call('ZADD', worklist_of(k.person), now, 'reassessment|' .. a.person_id)
  fig_incr(k.fig_day, 'pathway_finished', 1)
  return {'ok', 'person_id', a.person_id, 'status', 'pathway_finished'}, {}
end)
