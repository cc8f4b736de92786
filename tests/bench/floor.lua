-- The contract's floor (make bench): the least Redis work a referral's three
-- steps can be under ARCHITECTURE.md's rules, through common/bus.lua's own
-- wrapper (appended to it, as a service's library is). Each step is one
-- function call with its idempotency mark and, but the last, one message in
-- its outbox for the next service; it writes one record of what it was sent,
-- and the last takes a seat in the same step. No figures, no indexes, no
-- person records, no check but the capacity: what every real step adds to
-- this is business.

-- A step's record: its arguments, as they came.
local function record(key, a, names)
  local f = {}
  for _, n in ipairs(names) do f[#f + 1] = n; f[#f + 1] = a[n] end
  redis.call('HSET', key, unpack(f))
end

local SUBMIT = {'referral_id', 'person_id', 'branch', 'external_ref', 'mediator', 'partner', 'needs', 'answers',
                'availability', 'consent_version', 'now_ms', 'retain_until_ms'}
command('submit', {keys = {'record'}, args = SUBMIT}, function(k, a)
  record(k.record, a, SUBMIT)
  return {'ok', 'referral_id', a.referral_id, 'status', 'accepted'}
end)

local ASSIGN = {'referral_id', 'person_id', 'kind', 'level', 'score', 'outcome', 'reason', 'rules', 'branch',
                'now_ms'}
command('assign', {keys = {'record'}, args = ASSIGN}, function(k, a)
  record(k.record, a, ASSIGN)
  return {'ok', 'referral_id', a.referral_id, 'status', a.outcome}
end)

-- The seat: checked and counted in the step that books it.
local BOOK = {'person_id', 'kind', 'session_id', 'assignment_id', 'now_ms', 'capacity'}
command('book', {keys = {'session', 'record'}, args = BOOK}, function(k, a)
  if redis.call('HINCRBY', k.session, 'taken', 1) > tonumber(a.capacity) then
    redis.call('HINCRBY', k.session, 'taken', -1)
    return {'ok', 'status', 'waitlisted'}
  end
  record(k.record, a, BOOK)
  return {'ok', 'session_id', a.session_id, 'status', 'booked'}
end)

