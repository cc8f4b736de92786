-- scheduler: Redis functions of the scheduler (appended to common/bus.lua).
-- Keys: tp:{T}:scheduler:*, all derived from the prefix of the call's key
-- (the territory hash tag keeps every call in one slot):
--   session:<sid>   kind venue trainer start end capacity taken status half_day
--                   status: open | closing (known to be cancelled: nobody is
--                   booked or offered into it any more) | cancelled;
--                   cancelled_by: timetable | staff; round: times reopened
--   sessions:<kind> zset start -> sid           (the timetable, in time order)
--   booking:<bid>   pid sid kind status deadline assignment referred_at seq
--                   (bid: 10 characters of Crockford's base 32 from the step's
--                   secret nonce, see new_booking; seq: the order they were made)
--   roster:<sid>    hash pid -> bid             (one booking per person and session)
--   bookings:<pid>  zset created ms -> bid      (a person's bookings: tremplin person show)
--   person:<pid>    availability, active:<kind> = bid | 'waiting', referred:<kind>,
--                   assignment:<kind>, noshows:<kind>, flagged:<kind>, completed:<kind>,
--                   seen_total, trained_ms, first_booked_ms, branch and partner (where
--                   the person was first referred from: the figures' breakdowns)
--   wait:<kind>:<half_day>  zset referred_at -> pid: one waitlist per kind and
--                   half-day, so the next compatible person is found in O(log n)
--   offers          zset deadline -> bid        (offers waiting for an answer)
--   free:<kind>:<half_day>  zset start -> sid: the open sessions with a free
--                   seat, so a placement is O(log n) in the sessions (seat_index
--                   keeps it in step with every change of status, taken or
--                   capacity; free:ready marks it built, see seat_index_build)
--   worklist        zset ms -> 'noshow|<pid>|<kind>' (flagged after repeated
--                   no-shows) or 'offer_expired|<pid>|<kind>' (an offer left
--                   unanswered): what a mediator should look at, until the
--                   person has a seat in that kind again (tremplin worklist)
--   notify          stream of jobs for the gateway (ids only)
--   fig:<day>, fig:total, fig:current           figures (docs/figures.md): a person's
--                   figures also by branch (field@b:<branch>) and partner (@p:)
--   fig:session:<sid>  kind venue start end capacity taken status seen noshow
--                   excused: a session's figures, kept in step with the session
--   fig:sessions    zset start -> sid           (the sessions with figures, in time order)
--   attendance_purged  the start (ms) of the last session whose attendance
--                   detail was purged ([retention] attendance_days)
--   fig:wait:<day>  zset member kind|branch|partner|bid -> ms from the referral to the
--                   start of the person's first workshop attended, on the day it was marked
-- Seat counters (session.taken: booked + offered) change only here, in the
-- same step as the capacity check.

local function prefix_of(key) return string.match(key, '^(tp:{[^}]*}:scheduler:)') end

local function hget(key, field) return redis.call('HGET', key, field) end

-- Consent to training withdrawn at or after the referral (referred_at, ms)
-- that put the person in this kind: nobody is placed for it any more. A new
-- referral, made with consent after the withdrawal, places again.
local function withdrawn_since(person, referred_at, withdrawn_ms)
  local withdrawn = tonumber(withdrawn_ms or hget(person, 'training_withdrawn_ms') or 0)
  return withdrawn > 0 and tonumber(referred_at or 0) <= withdrawn
end

local function notify(P, kind, bid, pid, sid, extra)
  local f = {'type', kind, 'booking', bid or '', 'person', pid or '', 'session', sid or ''}
  if extra then for _, v in ipairs(extra) do f[#f + 1] = v end end
  -- bounded: the gateway's consumer group reads it long before that
  redis.call('XADD', P .. 'notify', 'MAXLEN', '~', 100000, '*', unpack(f))
end

local function fig(P, day, field, by) fig_count(P .. 'fig:' .. day, P .. 'fig:total', field, by) end

-- A figure about a person: also by the branch and the partner they were
-- first referred from, when known.
local function figp(P, day, field, pid, by)
  fig(P, day, field, by)
  local bp = percall['bp:' .. pid] -- read once per call (track_assigned sets it)
  if not bp then
    bp = redis.call('HMGET', P .. 'person:' .. pid, 'branch', 'partner')
    percall['bp:' .. pid] = bp
  end
  if bp[1] then fig(P, day, field .. '@b:' .. bp[1], by) end
  if bp[2] then fig(P, day, field .. '@p:' .. bp[2], by) end
end

-- A session's figure record, in step with the session (the reporter reads
-- these, never the session itself).
local function sess_fig(P, sid, ...)
  redis.call('HSET', P .. 'fig:session:' .. sid, ...)
end

local function sess_incr(P, sid, field, by)
  fig_incr(P .. 'fig:session:' .. sid, field, by)
end

-- The first confirmed seat of a person (booked, or an offer accepted).
local function first_booked(P, pid, now, day)
  if redis.call('HSETNX', P .. 'person:' .. pid, 'first_booked_ms', now) == 1 then
    figp(P, day, 'people_booked', pid)
  end
end

local function has(list, x)
  for _, v in ipairs(list) do if v == x then return true end end
  return false
end

-- the mediator's worklist --------------------------------------------------

local function worklist_add(P, what, pid, kind, now)
  redis.call('ZADD', P .. 'worklist', now, what .. '|' .. pid .. '|' .. kind)
end

-- The person has a seat in that kind again (booked, an offer accepted): what
-- the worklist said of it is done.
local function worklist_done(P, pid, kind)
  redis.call('ZREM', P .. 'worklist', 'noshow|' .. pid .. '|' .. kind, 'offer_expired|' .. pid .. '|' .. kind)
end

-- the waitlists -----------------------------------------------------------

local function wait_join(P, pid, kind, referred_at, day)
  local person = P .. 'person:' .. pid
  local days = hget(person, 'availability')
  for _, h in ipairs(words(days)) do
    redis.call('ZADD', P .. 'wait:' .. kind .. ':' .. h, referred_at, pid)
  end
  -- wait_seq orders joins and bookings on one counter (the bookings' seq):
  -- with it an audit can tell who was already waiting when a seat was offered
  -- waitdays: the lists joined, to leave exactly those even if the
  -- person's availability changes meanwhile
  redis.call('HSET', person, 'active:' .. kind, 'waiting', 'referred:' .. kind, referred_at,
             'wait_seq:' .. kind, redis.call('INCR', P .. 'seq'), 'waitdays:' .. kind, days)
  fig_incr(P .. 'fig:current', 'waiting:' .. kind, 1)
  figp(P, day, 'waitlisted:' .. kind, pid)
end

local function wait_leave(P, pid, kind)
  local person = P .. 'person:' .. pid
  for _, h in ipairs(words(hget(person, 'waitdays:' .. kind) or hget(person, 'availability'))) do
    redis.call('ZREM', P .. 'wait:' .. kind .. ':' .. h, pid)
  end
  fig_incr(P .. 'fig:current', 'waiting:' .. kind, -1)
end

-- bookings -----------------------------------------------------------------

-- Booking ids are unguessable (people answer offers by SMS with them): each
-- step that may make bookings gets a secret nonce from the C side (argument
-- nonce) and calls ids_start(nonce) first; the n-th id of the step is 50
-- bits of sha1(nonce:n) in Crockford's base 32 (no I, L, O, U), skipping one
-- already taken.
local ids = {nonce = nil, n = 0}
local crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

local function ids_start(nonce)
  ids.nonce, ids.n = nonce, 0
end

local function next_bid(P)
  if not ids.nonce or #ids.nonce < 32 then error('booking ids need the step\'s nonce') end
  while true do
    ids.n = ids.n + 1
    local v = tonumber(string.sub(redis.sha1hex(ids.nonce .. ':' .. ids.n), 1, 13), 16)
    local c = {}
    for i = 1, 10 do
      local d = v % 32
      c[i] = string.sub(crockford, d + 1, d + 1)
      v = (v - d) / 32
    end
    local bid = table.concat(c)
    if redis.call('EXISTS', P .. 'booking:' .. bid) == 0 then return bid end
  end
end

-- The free-seat index ------------------------------------------------------

-- Puts the session in, or takes it out of, the index of its kind and
-- half-day: in when it is open with a free seat. Called wherever a session's
-- status, taken or capacity changes.
local function seat_index(P, sid)
  local s = redis.call('HMGET', P .. 'session:' .. sid, 'status', 'taken', 'capacity', 'kind', 'half_day', 'start')
  if not s[4] then return end
  local key = P .. 'free:' .. s[4] .. ':' .. s[5]
  if s[1] == 'open' and tonumber(s[2]) < tonumber(s[3]) then
    redis.call('ZADD', key, s[6], sid)
  else
    redis.call('ZREM', key, sid)
  end
end

-- A territory whose sessions were made before the index existed: built once,
-- from the sessions to come.
local function seat_index_build(P, now)
  if redis.call('EXISTS', P .. 'free:ready') == 1 then return end
  for _, kind in ipairs(redis.call('SMEMBERS', P .. 'kinds')) do
    for _, sid in ipairs(redis.call('ZRANGEBYSCORE', P .. 'sessions:' .. kind, '(' .. now, '+inf')) do
      seat_index(P, sid)
    end
  end
  redis.call('SET', P .. 'free:ready', '1')
end

-- assigned: {assignment, referred_at} of the person in that kind when the
-- caller knows them (track_assigned just wrote them), else read.
local function new_booking(P, pid, sid, kind, status, now, deadline, assigned)
  local bid = next_bid(P)
  local person = P .. 'person:' .. pid
  assigned = assigned or redis.call('HMGET', person, 'assignment:' .. kind, 'referred:' .. kind)
  redis.call('HSET', P .. 'booking:' .. bid, 'pid', pid, 'sid', sid, 'kind', kind, 'status', status,
             'created', now, 'deadline', deadline or 0, 'assignment', assigned[1] or '',
             'referred_at', assigned[2] or now, 'seq', redis.call('INCR', P .. 'seq'))
  redis.call('ZADD', P .. 'bookings:' .. pid, now, bid)
  redis.call('HSET', P .. 'roster:' .. sid, pid, bid)
  redis.call('HINCRBY', P .. 'session:' .. sid, 'taken', 1)
  sess_incr(P, sid, 'taken', 1)
  seat_index(P, sid)
  redis.call('HSET', person, 'active:' .. kind, bid)
  if status == 'offered' then redis.call('ZADD', P .. 'offers', deadline, bid) end
  return bid
end

-- The earliest open session of kind with a free seat, starting after
-- not_before, at one of the person's half-days, that the person is not
-- already in (declined, cancelled: rare, skipped). One range read per
-- half-day; sessions that have started leave the index here.
local function find_session(P, kind, avail, now, not_before, pid)
  seat_index_build(P, now)
  local best, best_start
  for _, hd in ipairs(avail) do
    local key = P .. 'free:' .. kind .. ':' .. hd
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    local offset, upto, found = 0, best_start and ('(' .. best_start) or '+inf', false
    while not found do
      local r = redis.call('ZRANGEBYSCORE', key, '(' .. not_before, upto, 'WITHSCORES', 'LIMIT', offset, 8)
      for i = 1, #r, 2 do
        if redis.call('HEXISTS', P .. 'roster:' .. r[i], pid) == 0 then
          best, best_start, found = r[i], tonumber(r[i + 1]), true
          break
        end
      end
      if #r < 16 then break end
      offset = offset + 8
    end
  end
  return best
end

-- Books the person into the earliest compatible session, or puts them on the
-- waitlists of their half-days. Returns status, bid, sid. availability and
-- assigned (see new_booking): when the caller knows them.
local function place(P, pid, kind, now, notice_ms, day, availability, assigned)
  local avail = words(availability or hget(P .. 'person:' .. pid, 'availability'))
  local sid = find_session(P, kind, avail, now, now + notice_ms, pid)
  if sid then
    local bid = new_booking(P, pid, sid, kind, 'booked', now, nil, assigned)
    notify(P, 'convocation', bid, pid, sid)
    worklist_done(P, pid, kind)
    figp(P, day, 'booked:' .. kind, pid)
    first_booked(P, pid, now, day)
    return 'booked', bid, sid
  end
  wait_join(P, pid, kind, hget(P .. 'person:' .. pid, 'referred:' .. kind) or now, day)
  notify(P, 'waitlisted', '', pid, '', {'kind', kind})
  return 'waitlisted', '', ''
end

-- Offers the free seats of a session to the next compatible waitlisted
-- people, first referred first served; never once the session has started.
-- Someone who already had a booking in this session (declined, expired,
-- cancelled) is passed over for it and keeps their place for the next one.
local function refill(P, sid, now, offer_ms, day)
  local skey = P .. 'session:' .. sid
  local s = redis.call('HMGET', skey, 'status', 'taken', 'capacity', 'kind', 'half_day', 'start')
  if s[1] ~= 'open' or tonumber(s[6]) <= now then return 0 end
  local free, kind, offered, offset = tonumber(s[3]) - tonumber(s[2]), s[4], 0, 0
  local wait = P .. 'wait:' .. kind .. ':' .. s[5]
  while free > 0 do
    local batch = redis.call('ZRANGE', wait, offset, offset + 19)
    if #batch == 0 then break end
    for _, pid in ipairs(batch) do
      if free == 0 then break end
      if redis.call('HEXISTS', P .. 'roster:' .. sid, pid) == 0 then
        wait_leave(P, pid, kind)
        -- the offer holds the seat until its deadline, but never past the start
        local deadline = math.min(now + offer_ms, tonumber(s[6]))
        local bid = new_booking(P, pid, sid, kind, 'offered', now, deadline)
        redis.call('HSET', P .. 'booking:' .. bid, 'via', 'waitlist')
        notify(P, 'offer', bid, pid, sid, {'deadline', deadline})
        figp(P, day, 'offers:' .. kind, pid)
        free, offered = free - 1, offered + 1
      else
        offset = offset + 1
      end
    end
  end
  return offered
end

-- Frees the seat of a booking (cancelled, declined, expired, moved).
local function release(P, bid, status, now)
  local b = P .. 'booking:' .. bid
  local pid, sid, kind = hget(b, 'pid'), hget(b, 'sid'), hget(b, 'kind')
  redis.call('HSET', b, 'status', status, 'closed', now)
  redis.call('HINCRBY', P .. 'session:' .. sid, 'taken', -1)
  sess_incr(P, sid, 'taken', -1)
  seat_index(P, sid)
  redis.call('ZREM', P .. 'offers', bid)
  if hget(P .. 'person:' .. pid, 'active:' .. kind) == bid then
    redis.call('HDEL', P .. 'person:' .. pid, 'active:' .. kind)
  end
  return pid, sid, kind
end

-- commands -----------------------------------------------------------------

-- track_assigned: a person to place in a kind of workshop. availability:
-- a list, '' = the last known.
command('track_assigned', {
  keys = {'person', 'assigned'},
  args = {'person_id', 'kind', 'availability', 'referred_at_ms', 'now_ms', 'notice_ms', 'offer_ms', 'day',
          'assignment_id', 'nonce'},
  optional = {'branch', 'partner'},
}, function(k, a)
  local P = prefix_of(k.person)
  ids_start(a.nonce)
  local first = redis.call('HMGET', k.assigned, 'status', 'booking', 'session')
  if first[1] then
    return {'dup', 'booking_id', first[2], 'session_id', first[3], 'status', first[1]}
  end
  local pid, kind, now, day = a.person_id, a.kind, tonumber(a.now_ms), a.day
  local was = redis.call('HMGET', k.person, 'training_withdrawn_ms', 'availability', 'active:' .. kind, 'branch',
                         'partner')
  -- referred before they withdrew their consent to training (a follow-up of
  -- an old referral): not placed; a new referral, with consent, is
  if withdrawn_since(k.person, a.referred_at_ms, was[1] or 0) then
    redis.call('HSET', k.assigned, 'status', 'consent_withdrawn', 'booking', '', 'session', '')
    return {'ok', 'booking_id', '', 'status', 'consent_withdrawn'}
  end
  -- where the person was first referred from (a follow-up says nothing),
  -- kept even when this one cannot be placed
  local branch, partner = was[4] or a.branch, was[5] or a.partner
  local person = {}
  if branch and not was[4] then put(person, 'branch', branch) end
  if partner and not was[5] then put(person, 'partner', partner) end
  percall['bp:' .. pid] = {branch or false, partner or false} -- the figures' breakdowns (figp)
  local availability = a.availability ~= '' and a.availability or was[2]
  if not availability then
    if #person > 0 then redis.call('HSET', k.person, unpack(person)) end
    return {'err', 'INVALID_FIELD', 'availability', 'Disponibilités inconnues pour cette personne.'}
  end
  put(person, 'availability', availability)
  local active = was[3]
  if active then -- one active booking (or waitlist place) per person and kind
    redis.call('HSET', k.person, unpack(person))
    redis.call('HSET', k.assigned, 'status', 'already', 'booking', active == 'waiting' and '' or active, 'session', '')
    return {'ok', 'booking_id', active == 'waiting' and '' or active, 'status', 'already'}
  end
  put(person, 'referred:' .. kind, a.referred_at_ms, 'assignment:' .. kind, a.assignment_id)
  redis.call('HSET', k.person, unpack(person))
  local status, bid, sid = place(P, pid, kind, now, tonumber(a.notice_ms), day, availability,
                                 {a.assignment_id, a.referred_at_ms})
  -- a new assignment is the mediator's answer (a booking said it already)
  if status ~= 'booked' then worklist_done(P, pid, kind) end
  redis.call('HSET', k.assigned, 'status', status, 'booking', bid, 'session', sid)
  return {'ok', 'booking_id', bid, 'session_id', sid, 'status', status}
end)

-- cancel_booking: by the person, until the cut-off before the start; the seat
-- is offered at once to the next compatible waitlisted person.
command('cancel_booking', {
  keys = {'booking'}, args = {'booking_id', 'now_ms', 'cutoff_ms', 'offer_ms', 'day', 'nonce'},
}, function(k, a)
  local P = prefix_of(k.booking)
  ids_start(a.nonce)
  local st = hget(k.booking, 'status')
  if not st then return {'err', 'UNKNOWN_BOOKING', 'booking_id', 'Réservation inconnue.'} end
  if st ~= 'booked' and st ~= 'offered' then
    return {'err', 'NOT_CANCELLABLE', 'booking_id', 'Cette réservation n\'est plus active (' .. st .. ').'}
  end
  local now = tonumber(a.now_ms)
  local sid = hget(k.booking, 'sid')
  if tonumber(hget(P .. 'session:' .. sid, 'start')) - tonumber(a.cutoff_ms) <= now then
    return {'err', 'TOO_LATE', 'booking_id', 'Trop tard pour annuler : prévenir directement le formateur.'}
  end
  local pid, _, kind = release(P, a.booking_id, 'cancelled', now)
  notify(P, 'cancelled', a.booking_id, pid, sid) -- the person is told it is done
  figp(P, a.day, 'cancelled:' .. kind, pid)
  refill(P, sid, now, tonumber(a.offer_ms), a.day)
  return {'ok', 'booking_id', a.booking_id, 'session_id', sid, 'status', 'cancelled'}
end)

-- answer_offer: yes (accept '1') books the seat, no releases it to the next
-- person.
command('answer_offer', {
  keys = {'booking'}, args = {'booking_id', 'now_ms', 'accept', 'offer_ms', 'day', 'nonce'},
}, function(k, a)
  local P = prefix_of(k.booking)
  ids_start(a.nonce)
  local b = redis.call('HMGET', k.booking, 'status', 'deadline', 'sid', 'pid', 'kind')
  if not b[1] then return {'err', 'UNKNOWN_BOOKING', 'booking_id', 'Proposition inconnue.'} end
  if b[1] ~= 'offered' then
    return {'err', 'NOT_AN_OFFER', 'booking_id', 'Cette place n\'est plus proposée (' .. b[1] .. ').'}
  end
  local now, day = tonumber(a.now_ms), a.day
  if tonumber(b[2]) <= now then
    return {'err', 'OFFER_EXPIRED', 'booking_id', 'Le délai pour répondre est dépassé.'}
  end
  if a.accept == '1' then
    redis.call('HSET', k.booking, 'status', 'booked', 'answered', now)
    redis.call('ZREM', P .. 'offers', a.booking_id)
    notify(P, 'convocation', a.booking_id, b[4], b[3])
    worklist_done(P, b[4], b[5])
    figp(P, day, 'offers_accepted:' .. b[5], b[4])
    figp(P, day, 'booked:' .. b[5], b[4])
    first_booked(P, b[4], now, day)
    return {'ok', 'booking_id', a.booking_id, 'session_id', b[3], 'status', 'booked'}
  end
  release(P, a.booking_id, 'declined', now)
  figp(P, day, 'offers_declined:' .. b[5], b[4])
  refill(P, b[3], now, tonumber(a.offer_ms), day)
  -- not this session, but they keep their place for the next one (joined
  -- after the refill, which would skip them anyway: they are in its roster)
  wait_join(P, b[4], b[5], hget(P .. 'person:' .. b[4], 'referred:' .. b[5]), day)
  return {'ok', 'booking_id', a.booking_id, 'session_id', b[3], 'status', 'declined'}
end)

-- consent_withdrawn: the person withdrew their consent to training (intake,
-- in the step that recorded it): every booking and offer of theirs is
-- released, its seat offered to the next person, and they leave every
-- waitlist. Nothing left to do is not an error (a replay, a second withdrawal).
command('consent_withdrawn', {
  keys = {'person'}, args = {'person_id', 'withdrawn_at_ms', 'now_ms', 'offer_ms', 'day', 'nonce'},
}, function(k, a)
  local P = prefix_of(k.person)
  ids_start(a.nonce)
  local pid, now, day = a.person_id, tonumber(a.now_ms), a.day
  if tonumber(hget(k.person, 'training_withdrawn_ms') or 0) < tonumber(a.withdrawn_at_ms) then
    redis.call('HSET', k.person, 'training_withdrawn_ms', a.withdrawn_at_ms)
  end
  local fields, n = redis.call('HGETALL', k.person), 0
  for i = 1, #fields, 2 do
    local kind = string.match(fields[i], '^active:(.+)$')
    -- a place given by a referral made after the withdrawal (with consent
    -- again) stays, whatever order the two messages arrived in
    if kind and not withdrawn_since(k.person, hget(k.person, 'referred:' .. kind)) then
      kind = nil
    end
    if kind and fields[i + 1] == 'waiting' then
      wait_leave(P, pid, kind)
      redis.call('HDEL', k.person, fields[i])
      n = n + 1
    elseif kind then
      local _, sid = release(P, fields[i + 1], 'consent_withdrawn', now)
      refill(P, sid, now, tonumber(a.offer_ms), day)
      n = n + 1
    end
  end
  if n > 0 then figp(P, day, 'consent_withdrawn', pid, n) end
  return {'ok', 'status', 'withdrawn:' .. n}
end)

-- Moves everyone of a session elsewhere (cancelled session, capacity cut):
-- the next compatible session, else the waitlist at their first place.
local function move_out(P, bid, why, now, notice_ms, day)
  local pid, sid, kind = release(P, bid, why, now)
  notify(P, why, bid, pid, sid)
  return place(P, pid, kind, now, notice_ms, day)
end

-- cancel_session: staff, or the timer for a session the timetable no longer
-- holds (a trainer absence, a holiday, a closure, a slot removed). by:
-- 'staff' or 'timetable' (only the latter comes back when the timetable
-- change is undone).
command('cancel_session', {
  keys = {'session'}, args = {'session_id', 'now_ms', 'reason', 'notice_ms', 'day', 'by', 'nonce'},
}, function(k, a)
  local P = prefix_of(k.session)
  ids_start(a.nonce)
  local sid = a.session_id
  local st = hget(k.session, 'status')
  if not st then return {'err', 'UNKNOWN_SESSION', 'session_id', 'Séance inconnue.'} end
  if st == 'cancelled' then
    -- staff confirm it: it stays cancelled even if the timetable change is undone
    if a.by == 'staff' then redis.call('HSET', k.session, 'cancelled_by', 'staff') end
    return {'dup', 'session_id', sid, 'status', 'cancelled'}
  end
  local now = tonumber(a.now_ms)
  if tonumber(hget(k.session, 'start')) <= now then
    return {'err', 'SESSION_STARTED', 'session_id', 'La séance a déjà commencé.'}
  end
  redis.call('HSET', k.session, 'status', 'cancelled', 'cancel_reason', a.reason, 'cancelled_by', a.by)
  sess_fig(P, sid, 'status', 'cancelled')
  seat_index(P, sid)
  local roster = redis.call('HGETALL', P .. 'roster:' .. sid)
  local moved = 0
  for i = 2, #roster, 2 do
    local s = hget(P .. 'booking:' .. roster[i], 'status')
    if s == 'booked' or s == 'offered' then
      move_out(P, roster[i], 'session_cancelled', now, tonumber(a.notice_ms), a.day)
      moved = moved + 1
    end
  end
  fig(P, a.day, 'sessions_cancelled')
  return {'ok', 'session_id', sid, 'status', 'cancelled:' .. moved}
end)

-- reopen_session: staff reopen a session they cancelled by mistake, before
-- its start: open again, its free seats offered at once to the waitlist
-- (those moved out when it was cancelled keep the seat they were given since,
-- or their waitlist place). One the timetable cancelled comes back with the
-- timetable instead. status: 'reopened:<seats offered>'.
command('reopen_session', {
  keys = {'session'}, args = {'session_id', 'now_ms', 'offer_ms', 'day', 'nonce'},
}, function(k, a)
  local P = prefix_of(k.session)
  ids_start(a.nonce)
  local sid, now = a.session_id, tonumber(a.now_ms)
  local s = redis.call('HMGET', k.session, 'status', 'cancelled_by', 'start')
  if not s[1] then return {'err', 'UNKNOWN_SESSION', 'session_id', 'Séance inconnue.'} end
  if s[1] == 'open' then return {'dup', 'session_id', sid, 'status', 'open'} end
  if tonumber(s[3]) <= now then
    return {'err', 'SESSION_STARTED', 'session_id', 'La séance a déjà commencé.'}
  end
  if s[1] ~= 'cancelled' or s[2] ~= 'staff' then
    return {'err', 'NOT_REOPENABLE', 'session_id',
            'Séance annulée par le calendrier : elle revient quand le calendrier la reprend.'}
  end
  redis.call('HSET', k.session, 'status', 'open')
  redis.call('HDEL', k.session, 'cancel_reason', 'cancelled_by')
  redis.call('HINCRBY', k.session, 'round', 1)
  -- the people the mistaken cancellation moved out who are still waiting
  -- for this kind may have this session again: their cancelled entry no
  -- longer bars them from its roster (one booking per person and session),
  -- and their place in line (first referred, first served) is kept. The
  -- roster holds at most the session's capacity.
  local kind = hget(k.session, 'kind')
  local roster = P .. 'roster:' .. sid
  local r = redis.call('HGETALL', roster)
  for i = 1, #r, 2 do
    if hget(P .. 'booking:' .. r[i + 1], 'status') == 'session_cancelled'
       and hget(P .. 'person:' .. r[i], 'active:' .. kind) == 'waiting' then
      redis.call('HDEL', roster, r[i])
    end
  end
  sess_fig(P, sid, 'status', 'open')
  seat_index(P, sid)
  fig(P, a.day, 'sessions_reopened')
  local offered = refill(P, sid, now, tonumber(a.offer_ms), a.day)
  return {'ok', 'session_id', sid, 'status', 'reopened:' .. offered}
end)

-- Attendance: a mark's consequences, applied and undone (a correction undoes
-- the old mark's, then applies the new one's). Figures count on the day of
-- the first mark, so a correction moves them within that day.
-- m: {P, bid, booking key, pid, person key, kind, sid, start (of the
-- session), day (of the first mark), now, chances, notice_ms, offer_ms}

-- The wait sample of a person's first workshop attended: its member in
-- fig:wait:<day> (kind, branch, partner: the breakdowns; the booking: unique).
local function wait_member(m)
  local bp = redis.call('HMGET', m.person, 'branch', 'partner')
  return m.kind .. '|' .. (bp[1] or '') .. '|' .. (bp[2] or '') .. '|' .. m.bid
end

local function attendance_apply(m, status)
  figp(m.P, m.day, status .. ':' .. m.kind, m.pid)
  sess_incr(m.P, m.sid, status, 1)
  if status == 'seen' then
    redis.call('HSET', m.person, 'completed:' .. m.kind, m.now)
    if redis.call('HINCRBY', m.person, 'seen_total', 1) == 1 and redis.call('HSETNX', m.person, 'trained_ms', m.now) == 1 then
      figp(m.P, m.day, 'trained', m.pid)
      figp(m.P, m.day, 'trained:' .. m.kind, m.pid)
      local referred = tonumber(hget(m.b, 'referred_at') or m.start)
      redis.call('ZADD', m.P .. 'fig:wait:' .. m.day, math.max(m.start - referred, 0), wait_member(m))
    end
    return
  end
  if status == 'noshow' and redis.call('HINCRBY', m.person, 'noshows:' .. m.kind, 1) > m.chances then
    redis.call('HSET', m.person, 'flagged:' .. m.kind, m.now)
    redis.call('HSET', m.b, 'flagged', 1)
    notify(m.P, 'mediator_flag', m.bid, m.pid, m.sid, {'reason', 'noshow'})
    worklist_add(m.P, 'noshow', m.pid, m.kind, m.now)
    figp(m.P, m.day, 'flagged_noshow', m.pid)
    return
  end
  -- excused, or a no-show with a chance left: a seat in a later session
  -- (unless they have one for this kind already, or have withdrawn their
  -- consent to training since)
  if not hget(m.person, 'active:' .. m.kind) and not withdrawn_since(m.person, hget(m.person, 'referred:' .. m.kind)) then
    local _, bid = place(m.P, m.pid, m.kind, m.now, m.notice_ms, m.day)
    redis.call('HSET', m.b, 'replaced', bid ~= '' and bid or 'waiting')
  end
end

-- keep_seat: the new mark gives a seat again; the one this mark gave stays.
local function attendance_undo(m, status, keep_seat)
  figp(m.P, m.day, status .. ':' .. m.kind, m.pid, -1)
  sess_incr(m.P, m.sid, status, -1)
  if status == 'seen' then
    redis.call('HDEL', m.person, 'completed:' .. m.kind)
    if redis.call('HINCRBY', m.person, 'seen_total', -1) <= 0 and redis.call('HDEL', m.person, 'trained_ms') == 1 then
      figp(m.P, m.day, 'trained', m.pid, -1)
      figp(m.P, m.day, 'trained:' .. m.kind, m.pid, -1)
      redis.call('ZREM', m.P .. 'fig:wait:' .. m.day, wait_member(m))
    end
    return
  end
  if status == 'noshow' then redis.call('HINCRBY', m.person, 'noshows:' .. m.kind, -1) end
  if hget(m.b, 'flagged') then
    redis.call('HDEL', m.person, 'flagged:' .. m.kind)
    redis.call('HDEL', m.b, 'flagged')
    notify(m.P, 'mediator_unflag', m.bid, m.pid, m.sid, {'reason', 'attendance_corrected'})
    redis.call('ZREM', m.P .. 'worklist', 'noshow|' .. m.pid .. '|' .. m.kind)
    figp(m.P, m.day, 'flagged_noshow', m.pid, -1)
  end
  -- the seat (or waitlist place) this mark gave, if it is still theirs
  local r = hget(m.b, 'replaced')
  if keep_seat then return end
  redis.call('HDEL', m.b, 'replaced')
  if r and hget(m.person, 'active:' .. m.kind) == r then
    if r == 'waiting' then
      wait_leave(m.P, m.pid, m.kind)
      redis.call('HDEL', m.person, 'active:' .. m.kind)
    else
      local _, sid = release(m.P, r, 'withdrawn', m.now)
      notify(m.P, 'withdrawn', r, m.pid, sid, {'reason', 'attendance_corrected'})
      refill(m.P, sid, m.now, m.offer_ms, m.day)
    end
  end
end

-- mark_attendance: the trainer, after the start. The same mark again is
-- answered as a duplicate; another mark is a correction, until the session
-- is closed (correct_ms after its end), recorded with who and when.
-- status: seen | noshow | excused; chances: second chances after a no-show.
command('mark_attendance', {
  keys = {'roster'},
  args = {'session_id', 'person_id', 'status', 'now_ms', 'day', 'chances', 'notice_ms', 'offer_ms', 'correct_ms',
          'trainer_id', 'nonce'},
}, function(k, a)
  local P = prefix_of(k.roster)
  ids_start(a.nonce)
  local sid, pid, status, now = a.session_id, a.person_id, a.status, tonumber(a.now_ms)
  local s = redis.call('HMGET', P .. 'session:' .. sid, 'start', 'kind', 'end')
  if not s[1] then return {'err', 'UNKNOWN_SESSION', 'session_id', 'Séance inconnue.'} end
  if tonumber(s[1]) > now then
    return {'err', 'SESSION_NOT_STARTED', 'session_id', 'La présence se note une fois la séance commencée.'}
  end
  local bid = redis.call('HGET', k.roster, pid)
  local b = bid and redis.call('HMGET', P .. 'booking:' .. bid, 'status', 'marked_day')
  local old = b and b[1]
  local marked = old == 'seen' or old == 'noshow' or old == 'excused'
  if old ~= 'booked' and not marked then
    return {'err', 'NOT_BOOKED', 'person_id', 'Cette personne n\'est pas inscrite à cette séance.'}
  end
  if old == status then return {'dup', 'booking_id', bid, 'session_id', sid, 'status', status} end
  if marked and now > tonumber(s[3] or s[1]) + tonumber(a.correct_ms) then
    return {'err', 'SESSION_CLOSED', 'status', 'La séance est close : la présence ne peut plus être corrigée.'}
  end
  local m = {P = P, bid = bid, b = P .. 'booking:' .. bid, pid = pid, person = P .. 'person:' .. pid, kind = s[2],
             sid = sid, start = tonumber(s[1]), day = b[2] or a.day, now = now, chances = tonumber(a.chances),
             notice_ms = tonumber(a.notice_ms), offer_ms = tonumber(a.offer_ms)}
  if marked then
    local noshows = tonumber(hget(m.person, 'noshows:' .. m.kind) or 0)
    attendance_undo(m, old, status == 'excused' or (status == 'noshow' and noshows + 1 <= m.chances))
    redis.call('HSET', m.b, 'corrected_from', old, 'corrected', now, 'corrected_by', a.trainer_id)
    redis.call('HINCRBY', m.b, 'corrections', 1)
  else
    redis.call('HSET', m.b, 'marked', now, 'marked_by', a.trainer_id, 'marked_day', a.day)
    redis.call('HDEL', m.person, 'active:' .. m.kind)
  end
  redis.call('HSET', m.b, 'status', status)
  attendance_apply(m, status)
  return {'ok', 'booking_id', bid, 'session_id', sid, 'status', status}
end)

-- timers (steps, not commands: run by the instance holding the lease) -----

-- close_session: the session is known to be cancelled (its trainer is
-- absent, the timetable no longer holds it): from now on nobody is booked or
-- offered into it ('closing'); the timer then cancels it through
-- cancel_session, which moves its people out. Returns {status, round}: the
-- round (times reopened) makes each cancellation a step of its own.
step('close_session', {keys = {'session'}}, function(k)
  local s = redis.call('HMGET', k.session, 'status', 'round')
  if s[1] == 'open' then
    redis.call('HSET', k.session, 'status', 'closing')
    local P, sid = prefix_of(k.session), string.match(k.session, ':session:(.+)$')
    sess_fig(P, sid, 'status', 'closing')
    seat_index(P, sid)
    s[1] = 'closing'
  end
  return {s[1] or '', s[2] or '0'}
end)

-- ensure_session: creates a session of the timetable once (cancelled from
-- the start when its trainer is known to be absent), or updates its
-- capacity; a cut below the bookings moves the last booked out; a session
-- the timetable had cancelled and holds again (the change was undone) is
-- reopened. Then offers its free seats to the waitlists. cut: '1' to apply a
-- capacity cut (the caller first updates every session's capacity, then
-- cuts, so nobody is moved into a session whose own cut is still to come);
-- absent: '1' when the trainer is absent.
step('ensure_session', {
  keys = {'session'},
  args = {'session_id', 'kind', 'venue', 'trainer', 'start_ms', 'end_ms', 'capacity', 'half_day', 'now_ms',
          'offer_ms', 'notice_ms', 'day', 'cut', 'absent', 'nonce'},
}, function(k, a)
  local P = prefix_of(k.session)
  ids_start(a.nonce)
  local sid, now, absent, start = a.session_id, tonumber(a.now_ms), a.absent == '1', tonumber(a.start_ms)
  if redis.call('EXISTS', k.session) == 0 then
    redis.call('HSET', k.session, 'kind', a.kind, 'venue', a.venue, 'trainer', a.trainer, 'start', a.start_ms,
               'end', a.end_ms, 'capacity', a.capacity, 'taken', 0, 'status', 'open', 'half_day', a.half_day)
    redis.call('ZADD', P .. 'sessions:' .. a.kind, a.start_ms, sid)
    redis.call('SADD', P .. 'kinds', a.kind)
    sess_fig(P, sid, 'kind', a.kind, 'venue', a.venue, 'start', a.start_ms, 'end', a.end_ms, 'capacity', a.capacity,
             'taken', 0, 'status', 'open', 'seen', 0, 'noshow', 0, 'excused', 0)
    redis.call('ZADD', P .. 'fig:sessions', a.start_ms, sid)
    if absent then
      redis.call('HSET', k.session, 'status', 'cancelled', 'cancel_reason', 'trainer_absent', 'cancelled_by', 'timetable')
      sess_fig(P, sid, 'status', 'cancelled')
      fig(P, a.day, 'sessions_cancelled')
      return 0
    end
    seat_index(P, sid)
  else
    if redis.call('EXISTS', P .. 'fig:session:' .. sid) == 0 then -- a session made before its figures were kept
      local x = redis.call('HMGET', k.session, 'kind', 'venue', 'start', 'end', 'taken')
      sess_fig(P, sid, 'kind', x[1], 'venue', x[2], 'start', x[3], 'end', x[4], 'taken', x[5])
      redis.call('ZADD', P .. 'fig:sessions', x[3], sid)
    end
    local st = redis.call('HMGET', k.session, 'status', 'cancelled_by')
    if not absent and start > now
       and (st[1] == 'closing' or (st[1] == 'cancelled' and st[2] == 'timetable')) then
      redis.call('HSET', k.session, 'status', 'open')
      redis.call('HDEL', k.session, 'cancel_reason', 'cancelled_by')
      redis.call('HINCRBY', k.session, 'round', 1)
      if st[1] == 'cancelled' then fig(P, a.day, 'sessions_reopened') end
    end
    local cap, taken = tonumber(a.capacity), tonumber(hget(k.session, 'taken'))
    redis.call('HSET', k.session, 'capacity', cap)
    sess_fig(P, sid, 'capacity', cap, 'status', hget(k.session, 'status'))
    seat_index(P, sid)
    if a.cut == '1' and taken > cap and hget(k.session, 'status') == 'open' and start > now then
      -- the last booked leave first
      local bookings = {}
      local roster = redis.call('HGETALL', P .. 'roster:' .. sid)
      for i = 2, #roster, 2 do
        local b = redis.call('HMGET', P .. 'booking:' .. roster[i], 'status', 'created')
        if b[1] == 'booked' or b[1] == 'offered' then bookings[#bookings + 1] = {roster[i], tonumber(b[2])} end
      end
      table.sort(bookings, function(a, b) return a[2] > b[2] end)
      for i = 1, taken - cap do move_out(P, bookings[i][1], 'capacity_cut', now, tonumber(a.notice_ms), a.day) end
    end
  end
  return refill(P, sid, now, tonumber(a.offer_ms), a.day)
end)

-- expire_offers: offers whose deadline passed (at most limit) go to the
-- next person.
step('expire_offers', {keys = {'offers'}, args = {'now_ms', 'offer_ms', 'day', 'limit', 'nonce'}}, function(k, a)
  local P = prefix_of(k.offers)
  ids_start(a.nonce)
  local now = tonumber(a.now_ms)
  local due = redis.call('ZRANGEBYSCORE', k.offers, '-inf', now, 'LIMIT', 0, tonumber(a.limit))
  for _, bid in ipairs(due) do
    if hget(P .. 'booking:' .. bid, 'status') == 'offered' then
      local pid, sid, kind = release(P, bid, 'expired', now)
      notify(P, 'offer_expired', bid, pid, sid)
      worklist_add(P, 'offer_expired', pid, kind, now)
      figp(P, a.day, 'offers_expired:' .. kind, pid)
      wait_join(P, pid, kind, hget(P .. 'person:' .. pid, 'referred:' .. kind), a.day)
      refill(P, sid, now, tonumber(a.offer_ms), a.day)
    else
      redis.call('ZREM', k.offers, bid)
    end
  end
  return #due
end)


-- purge_attendance (the purge timer's step, [retention] attendance_days):
-- the sessions that started before before_ms forget who was in them: the
-- roster goes, each booking forgets its person (pid; person_purged_ms says
-- when) and leaves the person's bookings:<pid>. What the figures need stays:
-- the session's figures (fig:session:<sid>), the person's own counts
-- (person:<pid>: seen_total, completed:<kind>, noshows:<kind>, trained_ms),
-- the bookings' status, every fig key. cursor: the start of the last session
-- done (inclusive: a session sharing it is looked at again, and has nothing
-- left). At most limit sessions; returns how many bookings forgot their person.
step('purge_attendance', {keys = {'sessions', 'cursor'}, args = {'before_ms', 'now_ms', 'limit'}}, function(k, a)
  local P = prefix_of(k.sessions)
  local from = redis.call('GET', k.cursor) or '-inf'
  local list = redis.call('ZRANGEBYSCORE', k.sessions, from, '(' .. a.before_ms, 'WITHSCORES', 'LIMIT', 0,
                          tonumber(a.limit))
  local n = 0
  for i = 1, #list, 2 do
    local roster = redis.call('HGETALL', P .. 'roster:' .. list[i])
    for j = 1, #roster, 2 do
      local b = P .. 'booking:' .. roster[j + 1]
      if redis.call('HDEL', b, 'pid') == 1 then
        redis.call('HSET', b, 'person_purged_ms', a.now_ms)
        n = n + 1
      end
      redis.call('ZREM', P .. 'bookings:' .. roster[j], roster[j + 1])
    end
    redis.call('DEL', P .. 'roster:' .. list[i])
    redis.call('SET', k.cursor, list[i + 1])
  end
  return n
end)
