-- survey: Redis functions of the survey service (appended to common/bus.lua, which
-- provides command(), step() and the outbox functions). Keys: tp:{T}:survey:*
--   participation:<id>   one per person and session marked: person, session, kind,
--                        status (open | answered | closed), attendance, the mark's
--                        time, opened/invited/reminded/answered/closed times, the
--                        answer (satisfaction, wants_more, topic, channel), why closed
--   by:<person>:<session> the participation id (the index person + session)
--   due                  zset: participation -> when the timer next looks at it
--                        (the reminder, then the closure at the deadline)
--   notify               stream of jobs for the gateway: survey_invitation,
--                        survey_reminder (ids only)
--   comment:<id>         the comment (personal data, apart) and its retain_until_ms
--   retention            zset: participation -> when its comment is deleted
--   participations:<person> set of the person's participation ids (erasure)
--   started              zset: participation -> its session's start, for the
--                        purge of who attended ([retention] attendance_days)
--   erased               hash person -> '<ms> <comments deleted>': the people
--                        whose comments were erased (ErasePerson from intake)
--   fig:<day>, fig:total the figures (counts only; README "Survey")
-- A person's consent is intake's: tp:{T}:intake:person:<id> consent:survey, read
-- (never written) through a key derived from this territory's prefix.

local NOTIFY_MAXLEN = 100000

-- 'tp:{T}:' of a key of this territory
local function root_of(key) return string.match(key, '^(tp:{[^}]*}:)') end

local function survey_consent(root, pid)
  return redis.call('HGET', root .. 'intake:person:' .. pid, 'consent:survey') == 'given'
end

local function fig(k, field, n) fig_count(k.fig_day, k.fig_total, field, n) end

local function job(notify, kind, id, pid, sid)
  redis.call('XADD', notify, 'MAXLEN', '~', NOTIFY_MAXLEN, '*', 'type', kind, 'participation', id, 'person', pid,
             'session', sid)
end

-- Every refusal is counted under its code, in the same step as its answer.
local function reject(k, code, field, message)
  fig(k, 'rejected:' .. code)
  return {'err', code, field, message}
end

-- An answer's counts, added (by 1) or taken back (by -1) in the figures of
-- the days they were counted on (each part keeps its day's key: an answer
-- in two SMS may span two days): answered, answered:<channel>,
-- satisfaction:<n>, wants_more. went_on stays: the follow-up went.
local function answer_figures(k, key, by)
  local q = redis.call('HMGET', key, 'channel', 'satisfaction', 'more', 'answered_fig', 'satisfaction_fig', 'more_fig')
  local function move(day, field) fig_count(day or k.fig_day, k.fig_total, field, by) end
  move(q[4], 'answered')
  move(q[4], 'answered:' .. (q[1] or ''))
  if q[2] then move(q[5], 'satisfaction:' .. q[2]) end
  if q[3] and q[3] ~= '0' then move(q[6], 'wants_more') end
end

-- attendance: AttendanceRecorded from the scheduler. `seen` opens the
-- participation (with the survey consent) and queues the invitation; noshow
-- and excused open nothing. A correction moves it: seen -> noshow|excused
-- closes an open participation, back to seen reopens it (invited once only);
-- an answered one is closed too, its answer kept but taken out of the
-- figures (answer_figures), and put back with it when seen again.
-- mark_ms orders the marks (the scheduler's time of each): an older one
-- arriving late changes nothing. remind_at_ms: when an invitation sent now
-- is reminded; deadline_ms: the end of the answer window.
command('attendance', {
  keys = {'participation', 'index', 'due', 'notify', 'fig_day', 'fig_total'},
  args = {'participation_id', 'person_id', 'session_id', 'kind', 'status', 'session_start_ms', 'mark_ms', 'now_ms',
          'remind_at_ms', 'deadline_ms'},
}, function(k, a)
  local id, pid, sid, now = a.participation_id, a.person_id, a.session_id, tonumber(a.now_ms)
  local p = redis.call('HMGET', k.participation, 'status', 'attendance', 'mark_ms', 'invited_ms', 'reminded_ms',
                       'closed_reason', 'person', 'session', 'deadline_ms', 'opened_ms')
  local status, was, closed_reason = p[1], p[2], p[6]
  if status and (p[7] ~= pid or p[8] ~= sid) then
    return {'err', 'CONFLICT', 'participation_id', 'Identifiant de questionnaire déjà attribué.'}
  end
  if status and (tonumber(a.mark_ms) < tonumber(p[3]) or a.status == was) then
    return {'dup', 'person_id', pid, 'session_id', sid, 'status', status}
  end
  if not status then
    redis.call('HSET', k.participation, 'person', pid, 'session', sid, 'kind', a.kind, 'session_start_ms',
               a.session_start_ms, 'deadline_ms', a.deadline_ms, 'created_ms', now)
    redis.call('SET', k.index, id)
    redis.call('SADD', root_of(k.index) .. 'survey:participations:' .. pid, id)
    redis.call('ZADD', root_of(k.index) .. 'survey:started', a.session_start_ms, id)
  end
  redis.call('HSET', k.participation, 'attendance', a.status, 'mark_ms', a.mark_ms)
  local deadline = tonumber(p[9] or a.deadline_ms)
  if a.status ~= 'seen' then
    if status == 'open' then
      redis.call('HSET', k.participation, 'status', 'closed', 'closed_reason', 'attendance_corrected', 'closed_ms', now)
      redis.call('ZREM', k.due, id)
      fig(k, 'closed_corrected')
    elseif status == 'answered' then
      redis.call('HSET', k.participation, 'status', 'closed', 'closed_reason', 'attendance_corrected', 'closed_ms', now)
      answer_figures(k, k.participation, -1)
      fig(k, 'closed_corrected')
    elseif not status then
      redis.call('HSET', k.participation, 'status', 'closed', 'closed_reason', 'not_attended', 'closed_ms', now)
    end
    return {'ok', 'person_id', pid, 'session_id', sid, 'status', 'closed'}
  end
  if closed_reason == 'attendance_corrected' and redis.call('HEXISTS', k.participation, 'answered_ms') == 1 then
    redis.call('HSET', k.participation, 'status', 'answered')
    redis.call('HDEL', k.participation, 'closed_reason', 'closed_ms')
    answer_figures(k, k.participation, 1)
    fig(k, 'reopened')
    return {'ok', 'person_id', pid, 'session_id', sid, 'status', 'answered'}
  end
  -- seen: open, unless answered already or closed for good (window over)
  if status == 'answered' or closed_reason == 'unanswered' then
    return {'ok', 'person_id', pid, 'session_id', sid, 'status', status}
  end
  if not survey_consent(root_of(k.participation), pid) then
    redis.call('HSET', k.participation, 'status', 'closed', 'closed_reason', 'no_consent', 'closed_ms', now)
    fig(k, 'not_invited:no_consent')
    return {'ok', 'person_id', pid, 'session_id', sid, 'status', 'closed'}
  end
  redis.call('HSET', k.participation, 'status', 'open')
  redis.call('HDEL', k.participation, 'closed_reason', 'closed_ms')
  if p[10] then fig(k, 'reopened') else redis.call('HSET', k.participation, 'opened_ms', now) end
  if not p[4] then
    redis.call('HSET', k.participation, 'invited_ms', now)
    job(k.notify, 'survey_invitation', id, pid, sid)
    fig(k, 'invited')
    redis.call('ZADD', k.due, math.min(tonumber(a.remind_at_ms), deadline), id)
  else
    -- invited before the correction: the reminder (if not sent yet) and the
    -- closure keep their times
    local remind_at = tonumber(p[4]) + tonumber(a.remind_at_ms) - now
    redis.call('ZADD', k.due, p[5] and deadline or math.min(remind_at, deadline), id)
  end
  return {'ok', 'person_id', pid, 'session_id', sid, 'status', 'open'}
end)

-- The answer's parts, as the participation records them: satisfaction '1'..'4',
-- more '0' or '1:<topic>' (wants more, and on what; '' = the pathway).
local function says(a)
  local more = nil
  if a.wants_more == '1' then more = '1:' .. a.topic elseif a.wants_more == '0' then more = '0' end
  return a.satisfaction ~= '0' and a.satisfaction or nil, more
end

-- submit: SubmitSurvey, from any channel (sms, kiosk, paper). Each question is
-- answered once: a later answer may add what was not said yet (an SMS "2"
-- then "non"), and the same answer again is a duplicate; another value for a
-- question already answered is ALREADY_ANSWERED. wants_more: '' not said,
-- '0', '1'; topic: '' = the next step of the pathway. The FollowUpRequested
-- the service prepared (when wants_more is '1') goes only when this step
-- records it. comment: optional, kept apart under its retention date.
command('submit', {
  keys = {'participation', 'comment', 'due', 'retention', 'fig_day', 'fig_total'},
  args = {'participation_id', 'satisfaction', 'wants_more', 'topic', 'channel', 'now_ms', 'retain_until_ms',
          'follow_up_id'},
  optional = {'text'},
}, function(k, a)
  local p = redis.call('HMGET', k.participation, 'status', 'attendance', 'person', 'session', 'deadline_ms',
                       'satisfaction', 'more', 'closed_reason')
  local status, pid, sid, now = p[1], p[3], p[4], tonumber(a.now_ms)
  if not status then
    return reject(k, 'UNKNOWN_PARTICIPATION', 'participation_id',
                  'Questionnaire inconnu : vérifier l\'identifiant, ou la personne et la séance.')
  end
  if p[2] ~= 'seen' then
    return reject(k, 'NOT_ATTENDED', 'participation_id',
                  'La personne n\'a pas été notée présente à cet atelier : pas de questionnaire.')
  end
  -- this answer against what was said before: new, the same, or other
  local sat, more = says(a)
  local had_comment = a.text and redis.call('HGET', k.comment, 'text')
  local new, other = {}, false
  local function against(v, before, name)
    if v == nil then return end
    if before == false or before == nil then new[name] = v elseif before ~= v then other = true end
  end
  against(sat, p[6], 'satisfaction')
  against(more, p[7], 'more')
  against(a.text, had_comment, 'text')
  if status == 'answered' and not other and not next(new) then
    return {'dup', 'person_id', pid, 'session_id', sid, 'status', 'answered'}
  end
  if now > tonumber(p[5]) or p[8] == 'unanswered' then
    return reject(k, 'TOO_LATE', 'participation_id', 'Le délai pour répondre à ce questionnaire est passé.')
  end
  if p[8] == 'no_consent' or not survey_consent(root_of(k.participation), pid) then
    return reject(k, 'CONSENT_REQUIRED', 'person_id',
                  'Cette personne n\'a pas donné (ou a retiré) son accord pour l\'enquête de satisfaction.')
  end
  if other then
    return reject(k, 'ALREADY_ANSWERED', 'participation_id',
                  'Ce questionnaire a déjà reçu une autre réponse : elle n\'est pas remplacée.')
  end
  -- the writes: every check is done
  if status ~= 'answered' then
    redis.call('HSET', k.participation, 'status', 'answered', 'answered_ms', now, 'channel', a.channel,
               'answered_fig', k.fig_day)
    redis.call('HDEL', k.participation, 'closed_reason', 'closed_ms')
    redis.call('ZREM', k.due, a.participation_id)
    fig(k, 'answered')
    fig(k, 'answered:' .. a.channel)
  end
  if new.satisfaction then
    redis.call('HSET', k.participation, 'satisfaction', new.satisfaction, 'satisfaction_fig', k.fig_day)
    fig(k, 'satisfaction:' .. new.satisfaction)
  end
  local send = {}
  if new.more then
    redis.call('HSET', k.participation, 'more', new.more, 'more_fig', k.fig_day)
    if new.more ~= '0' then
      redis.call('HSET', k.participation, 'follow_up', a.follow_up_id, 'topic', a.topic)
      fig(k, 'wants_more')
      fig(k, 'went_on')
      send[1] = true
    end
  end
  if new.text then
    redis.call('HSET', k.comment, 'text', new.text, 'retain_until_ms', a.retain_until_ms)
    redis.call('ZADD', k.retention, a.retain_until_ms, a.participation_id)
    redis.call('HSET', k.participation, 'commented_ms', now)
  end
  return {'ok', 'person_id', pid, 'session_id', sid, 'status', 'answered'}, send
end)

-- reject: a refusal decided before Redis (a field the checks refused),
-- counted like the others.
command('reject', {keys = {'fig_day', 'fig_total'}, args = {'code', 'field', 'message'}}, function(k, a)
  return reject(k, a.code, a.field, a.message)
end)

-- tick (the timer's step, under its lease): the participations due by now
-- (at most limit). An open one past its deadline is closed unanswered; one
-- whose person withdrew the survey consent is closed; otherwise it is
-- reminded once and looked at again at its deadline. Returns {reminded,
-- closed}.
step('tick', {keys = {'due', 'notify', 'fig_day', 'fig_total'}, args = {'now_ms', 'limit'}}, function(k, a)
  local root, now = root_of(k.due), tonumber(a.now_ms)
  local P = root .. 'survey:participation:'
  local reminded, closed = 0, 0
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', k.due, '-inf', now, 'LIMIT', 0, tonumber(a.limit))) do
    local p = redis.call('HMGET', P .. id, 'status', 'reminded_ms', 'deadline_ms', 'person', 'session')
    if p[1] ~= 'open' then
      redis.call('ZREM', k.due, id)
    elseif now >= tonumber(p[3]) then
      redis.call('HSET', P .. id, 'status', 'closed', 'closed_reason', 'unanswered', 'closed_ms', now)
      redis.call('ZREM', k.due, id)
      fig(k, 'closed_unanswered')
      closed = closed + 1
    elseif not survey_consent(root, p[4]) then
      redis.call('HSET', P .. id, 'status', 'closed', 'closed_reason', 'consent_withdrawn', 'closed_ms', now)
      redis.call('ZREM', k.due, id)
      fig(k, 'closed_consent_withdrawn')
      closed = closed + 1
    elseif not p[2] then
      redis.call('HSET', P .. id, 'reminded_ms', now)
      job(k.notify, 'survey_reminder', id, p[4], p[5])
      redis.call('ZADD', k.due, tonumber(p[3]), id)
      fig(k, 'reminded')
      reminded = reminded + 1
    else
      redis.call('ZADD', k.due, tonumber(p[3]), id)
    end
  end
  return {reminded, closed}
end)

-- purge_comments (the purge timer's step, under its lease): the comments whose
-- retention date has passed are deleted (at most limit); the participation
-- says when.
step('purge_comments', {keys = {'retention', 'fig_day', 'fig_total'}, args = {'now_ms', 'limit'}}, function(k, a)
  local P = root_of(k.retention) .. 'survey:'
  local due = redis.call('ZRANGEBYSCORE', k.retention, '-inf', a.now_ms, 'LIMIT', 0, tonumber(a.limit))
  for _, id in ipairs(due) do
    redis.call('DEL', P .. 'comment:' .. id)
    redis.call('ZREM', k.retention, id)
    redis.call('HSET', P .. 'participation:' .. id, 'comment_purged_ms', a.now_ms)
  end
  if #due > 0 then fig(k, 'comments_purged', #due) end
  return #due
end)

-- erase_person: ErasePerson, passed on by intake (the right to erasure): the
-- person's comments are deleted (found through participations:<person>, and
-- among the comments kept, for a participation made before that index); the
-- participation records the time. The answers (scores, wants more) are
-- pseudonymous facts of the figures and stay; an open participation is closed
-- by the timer, the survey consent being withdrawn. An erased person again:
-- 'dup'.
command('erase_person', {keys = {'erased', 'retention', 'participations'}, args = {'person_id', 'now_ms'}},
        function(k, a)
  local pid = a.person_id
  if redis.call('HEXISTS', k.erased, pid) == 1 then return {'dup', 'person_id', pid, 'status', 'erased'} end
  local P = root_of(k.erased) .. 'survey:'
  local ids = redis.call('SMEMBERS', k.participations)
  for _, id in ipairs(redis.call('ZRANGE', k.retention, 0, -1)) do
    if redis.call('HGET', P .. 'participation:' .. id, 'person') == pid then ids[#ids + 1] = id end
  end
  local n = 0
  for _, id in ipairs(ids) do
    if redis.call('DEL', P .. 'comment:' .. id) == 1 then
      n = n + 1
      redis.call('HSET', P .. 'participation:' .. id, 'comment_erased_ms', a.now_ms)
    end
    redis.call('ZREM', k.retention, id)
  end
  redis.call('HSET', k.erased, pid, a.now_ms .. ' ' .. n)
  return {'ok', 'person_id', pid, 'status', 'erased:' .. n}
end)

-- purge_participations (the purge timer's step, [retention] attendance_days):
-- the participations in sessions that started before before_ms forget whose
-- they are: the person leaves the record (person_purged_ms says when), the
-- index person + session and the person's set. The answers and every figure
-- stay. At most limit; returns how many.
step('purge_participations', {keys = {'started'}, args = {'before_ms', 'now_ms', 'limit'}}, function(k, a)
  local P = root_of(k.started) .. 'survey:'
  local due = redis.call('ZRANGEBYSCORE', k.started, '-inf', '(' .. a.before_ms, 'LIMIT', 0, tonumber(a.limit))
  for _, id in ipairs(due) do
    local p = redis.call('HMGET', P .. 'participation:' .. id, 'person', 'session')
    if p[1] then
      redis.call('DEL', P .. 'by:' .. p[1] .. ':' .. (p[2] or ''))
      redis.call('SREM', P .. 'participations:' .. p[1], id)
      redis.call('HDEL', P .. 'participation:' .. id, 'person')
      redis.call('HSET', P .. 'participation:' .. id, 'person_purged_ms', a.now_ms)
    end
    redis.call('ZREM', k.started, id)
  end
  return #due
end)
