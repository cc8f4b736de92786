-- gateway: Redis functions of the gateway (appended to common/bus.lua).
-- Keys: tp:{T}:gateway:*, all derived from the prefix of a call's key (the
-- territory hash tag keeps every call in one slot):
--   job:<jid>      one notification job: type person session booking
--                  [deadline reason kind participation] source created_ms,
--                  status queued | held | sending | sent | failed | given_up |
--                  dropped, channel (sms | letter), transport (spool | http |
--                  print), tries (failed sends), attempts (times taken),
--                  takeovers, owner (instance/pid while sending), held_until,
--                  held_reason, drop_reason, last_error, provider_id, sent_ms
--                  jid: <source>:<stream entry id>, <jid>:reminder for the
--                  reminder of a convocation, reply:<msg_id> for the answer to
--                  a reply not understood
--   due            zset business ms -> jid: queued and held jobs, by when
--                  they are to be looked at again
--   sending        zset real ms -> jid: jobs taken by an instance, by when its
--                  lease ends (another instance takes them over after that)
--   retry          zset real ms -> jid: failed sends waiting for their next try
--   jobs           zset created ms -> jid, person:<pid> the same per person,
--   flagged        zset ms -> jid of the jobs given up (tremplin notify list)
--   letters:<day>  zset ms -> jid of the letters of that business day
--   convoked:<sid> hash booking -> sms | letter: how a participant was convoked
--   phone:<h>      set of person ids an SMS went to at the number whose keyed
--                  hash is h (a reply is matched by its sender's number; the
--                  number itself is not in a key name)
--   phones         zset business ms -> h: when each phone:<h> was last written
--                  to (the retention purge deletes the sets not used since)
--   survey:<pid>   the survey invitation sent: participation session
--                  invited_ms [score yes_no partial_ms answered_ms]
--   survey_due     zset business ms -> pid: a partial survey answer (a score
--                  without OUI/NON, or the reverse) sent as it is then
--   reply:<msg_id> what an incoming SMS was taken for: kind action person
--   worklist       zset ms -> 'undelivered|<pid>': a person a notification
--                  could not reach (given up, or no phone and no address),
--                  until one reaches them (tremplin worklist);
--                  worklist:job hash pid -> the job that could not
--   fig:<day>, fig:total  figures (ids and counts only)
--   erased         hash pid -> '<ms> <jobs dropped> <phone sets left>': the
--                  people erased (ErasePerson from intake); their jobs are
--                  dropped ('erased') whenever they come up
--   erase_files    hash pid -> the keyed hashes of the numbers the person had
--                  (space separated): their spool files and reply texts are
--                  still to be deleted (the files timer, erase.c)
-- Read, never written: the notify streams' entries (the consumer group
-- 'gateway' is the gateway's), tp:{T}:intake:person:<pid> (consent) and
-- contact:<pid>, tp:{T}:scheduler:session:<sid>, booking:<bid>, person:<pid>.

local function prefix_of(key) return string.match(key, '^(tp:{[^}]*}:)gateway:') end

local function fig(G, day, field, by) fig_count(G .. 'fig:' .. day, G .. 'fig:total', field, by) end

-- The mediator's worklist: a person no notification could reach, and when;
-- cleared once one does.
local function worklist_add(G, pid, jid, now)
  if pid and pid ~= '' and redis.call('HEXISTS', G .. 'erased', pid) == 0 then
    redis.call('ZADD', G .. 'worklist', now, 'undelivered|' .. pid)
    redis.call('HSET', G .. 'worklist:job', pid, jid)
  end
end

local function worklist_clear(G, pid)
  if pid and pid ~= '' and redis.call('HDEL', G .. 'worklist:job', pid) == 1 then
    redis.call('ZREM', G .. 'worklist', 'undelivered|' .. pid)
  end
end

local function hash_pairs(out, prefix, key)
  local f = redis.call('HGETALL', key)
  for i = 1, #f, 2 do
    out[#out + 1] = prefix .. f[i]
    out[#out + 1] = f[i + 1]
  end
end

-- ingest(stream, due; consumer, count, now_ms, source, types): reads the new
-- entries of a notify stream through the consumer group 'gateway' and makes
-- each one that sends something (its type in types) a job, due now; in the
-- same step it acknowledges them all, so that no entry is ever pending: a
-- killed instance leaves nothing behind in the stream, and a job exists once
-- (its id is the entry's). Returns the number of jobs made.
step('ingest', {keys = {'stream', 'due'}, args = {'consumer', 'count', 'now_ms', 'source', 'types'}}, function(k, a)
  local T = prefix_of(k.due)
  local G = T .. 'gateway:'
  local read = {'XREADGROUP', 'GROUP', 'gateway', a.consumer, 'COUNT', a.count, 'STREAMS', k.stream, '>'}
  local r = redis.pcall(unpack(read))
  if type(r) == 'table' and r.err then
    if not string.find(r.err, 'NOGROUP', 1, true) then error(r.err, 0) end
    redis.call('XGROUP', 'CREATE', k.stream, 'gateway', '0', 'MKSTREAM')
    r = redis.call(unpack(read))
  end
  local entries = (r and r[1] and r[1][2]) or {}
  if #entries == 0 then return 0 end
  local sends = {}
  for _, t in ipairs(words(a.types)) do sends[t] = true end
  local ids, made = {}, 0
  for _, e in ipairs(entries) do
    ids[#ids + 1] = e[1]
    local f = {}
    for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
    local jid = a.source .. ':' .. e[1]
    local job = G .. 'job:' .. jid
    if sends[f.type] and f.person and f.person ~= '' and redis.call('EXISTS', job) == 0 then
      redis.call('HSET', job, 'type', f.type, 'person', f.person, 'session', f.session or '', 'booking', f.booking or '',
                 'deadline', f.deadline or '0', 'reason', f.reason or '', 'kind', f.kind or '',
                 'participation', f.participation or '', 'source', a.source, 'created_ms', a.now_ms,
                 'status', 'queued', 'tries', 0, 'attempts', 0)
      redis.call('ZADD', k.due, a.now_ms, jid)
      redis.call('ZADD', G .. 'jobs', a.now_ms, jid)
      redis.call('ZADD', G .. 'person:' .. f.person, a.now_ms, jid)
      made = made + 1
    end
  end
  redis.call('XACK', k.stream, 'gateway', unpack(ids))
  return made
end)

-- What a job's text and channel need, read at send time: the job, the
-- session and booking it names (and, for a move, the person's new booking),
-- consent and contact. Flat pairs 'job.type', v, 'session.start', v ...
local function context(T, G, jid)
  local out = {'jid', jid}
  local job = G .. 'job:' .. jid
  hash_pairs(out, 'job.', job)
  local j = redis.call('HMGET', job, 'person', 'session', 'booking', 'type', 'participation')
  local pid, sid, bid, jtype, part = j[1], j[2], j[3], j[4], j[5]
  if sid and sid ~= '' then hash_pairs(out, 'session.', T .. 'scheduler:session:' .. sid) end
  if bid and bid ~= '' then
    out[#out + 1] = 'booking.status'
    out[#out + 1] = redis.call('HGET', T .. 'scheduler:booking:' .. bid, 'status') or ''
  end
  -- a survey message only while its participation is open: the survey's
  -- record (open, its deadline), and no answer received here already
  if string.sub(jtype or '', 1, 7) == 'survey_' and part and part ~= '' then
    local ps = redis.call('HMGET', T .. 'survey:participation:' .. part, 'status', 'deadline_ms')
    local gs = redis.call('HMGET', G .. 'survey:' .. pid, 'participation', 'answered_ms')
    out[#out + 1] = 'participation.status'; out[#out + 1] = ps[1] or ''
    out[#out + 1] = 'participation.deadline'; out[#out + 1] = ps[2] or '0'
    out[#out + 1] = 'participation.answered'; out[#out + 1] = (gs[1] == part and gs[2]) and '1' or ''
  end
  if (jtype == 'session_cancelled' or jtype == 'capacity_cut') and sid and sid ~= '' then
    local kind = redis.call('HGET', T .. 'scheduler:session:' .. sid, 'kind')
    local next_bid = kind and redis.call('HGET', T .. 'scheduler:person:' .. pid, 'active:' .. kind)
    if next_bid and next_bid ~= 'waiting' then
      local nb = redis.call('HMGET', T .. 'scheduler:booking:' .. next_bid, 'status', 'sid')
      if nb[1] == 'booked' and nb[2] then
        local ns = redis.call('HMGET', T .. 'scheduler:session:' .. nb[2], 'start', 'venue', 'kind')
        out[#out + 1] = 'next.start'; out[#out + 1] = ns[1] or '0'
        out[#out + 1] = 'next.venue'; out[#out + 1] = ns[2] or ''
        out[#out + 1] = 'next.kind'; out[#out + 1] = ns[3] or ''
      end
    end
  end
  if pid and pid ~= '' then
    local p = redis.call('HMGET', T .. 'intake:person:' .. pid, 'consent:training', 'consent:sms', 'consent:survey')
    out[#out + 1] = 'consent.training'; out[#out + 1] = p[1] or ''
    out[#out + 1] = 'consent.sms'; out[#out + 1] = p[2] or ''
    out[#out + 1] = 'consent.survey'; out[#out + 1] = p[3] or ''
    out[#out + 1] = 'erased'; out[#out + 1] = redis.call('HEXISTS', G .. 'erased', pid) == 1 and '1' or ''
    hash_pairs(out, 'contact.', T .. 'intake:contact:' .. pid)
  end
  return out
end

-- take(due, sending, retry; owner, now_ms, real_ms, lease_ms, count): the
-- jobs this instance sends now, at most count: first those whose holder's
-- lease ended (it died or hung: taken over), then the failed ones whose next
-- try is due (real time), then the due ones (business time). Each is marked
-- sending, owned by owner until real_ms + lease_ms, and returned with its
-- context: {{pairs}, ...}.
step('take', {keys = {'due', 'sending', 'retry'}, args = {'owner', 'now_ms', 'real_ms', 'lease_ms', 'count'}},
     function(k, a)
  local T = prefix_of(k.due)
  local G = T .. 'gateway:'
  local out, count = {}, tonumber(a.count)
  local lease_end = tonumber(a.real_ms) + tonumber(a.lease_ms)
  local function claim(from, upto, takeover)
    if #out >= count then return end
    local ids = redis.call('ZRANGEBYSCORE', from, '-inf', upto, 'LIMIT', 0, count - #out)
    for _, jid in ipairs(ids) do
      local job = G .. 'job:' .. jid
      redis.call('ZREM', from, jid)
      if redis.call('EXISTS', job) == 1 then
        if takeover then
          redis.call('HINCRBY', job, 'takeovers', 1)
          redis.call('HSET', job, 'taken_from', redis.call('HGET', job, 'owner') or '')
        end
        redis.call('HSET', job, 'status', 'sending', 'owner', a.owner)
        redis.call('HINCRBY', job, 'attempts', 1)
        redis.call('ZADD', k.sending, lease_end, jid)
        local c = context(T, G, jid)
        if takeover then c[#c + 1] = 'takeover'; c[#c + 1] = '1' end
        out[#out + 1] = c
      end
    end
  end
  claim(k.sending, a.real_ms, true)
  claim(k.retry, a.real_ms, false)
  claim(k.due, a.now_ms, false)
  return out
end)

-- result(job, sending; owner, outcome, now_ms, day, ...): what became of a
-- job this instance took; applied only while it still owns it (a holder that
-- hung past its lease finds the job taken over: 'stale', nothing changes).
-- outcome: sent | held | dropped | retry | given_up. With 'sent': channel
-- (sms | letter), transport (spool | http | print), provider_id, phone_hash
-- (the number it went to, keyed: replies are matched by it), reminder_due
-- (business ms of the convocation's reminder, 0 = none); 'held': at_ms and
-- reason; 'dropped': reason; 'retry': retry_at (real ms) and error;
-- 'given_up': error.
step('result', {
  keys = {'job', 'sending'},
  args = {'owner', 'outcome', 'now_ms', 'day'},
  optional = {'channel', 'transport', 'provider_id', 'phone_hash', 'reminder_due', 'at_ms', 'reason', 'retry_at',
              'error', 'segments'},
}, function(k, a)
  local T = prefix_of(k.sending)
  local G = T .. 'gateway:'
  local j = redis.call('HMGET', k.job, 'owner', 'status', 'type', 'person', 'session', 'booking', 'participation')
  if j[1] ~= a.owner or j[2] ~= 'sending' then return 'stale' end
  local jid = string.sub(k.job, #G + 5)
  local jtype, pid, sid, bid = j[3], j[4], j[5], j[6]
  redis.call('ZREM', k.sending, jid)
  redis.call('HDEL', k.job, 'owner')
  local o, now, day = a.outcome, a.now_ms, a.day
  if o == 'sent' then
    redis.call('HSET', k.job, 'status', 'sent', 'sent_ms', now, 'channel', a.channel, 'transport', a.transport,
               'provider_id', a.provider_id or '', 'segments', a.segments or '1')
    fig(G, day, 'sent:' .. a.channel)
    if a.transport ~= a.channel then fig(G, day, 'sent:' .. a.transport) end
    fig(G, day, 'sent:' .. jtype)
    worklist_clear(G, pid)
    if a.phone_hash and a.phone_hash ~= '' and redis.call('HEXISTS', G .. 'erased', pid) == 0 then
      redis.call('SADD', G .. 'phone:' .. a.phone_hash, pid)
      redis.call('ZADD', G .. 'phones', now, a.phone_hash) -- its last use, for the retention purge
    end
    if a.channel == 'letter' then redis.call('ZADD', G .. 'letters:' .. day, now, jid) end
    if jtype == 'convocation' and sid ~= '' then redis.call('HSET', G .. 'convoked:' .. sid, bid, a.channel) end
    if string.sub(jtype, 1, 7) == 'survey_' and j[7] and j[7] ~= '' then
      local s = G .. 'survey:' .. pid
      if redis.call('HGET', s, 'participation') ~= j[7] then
        redis.call('DEL', s)
        redis.call('HSET', s, 'participation', j[7], 'session', sid, 'invited_ms', now)
      end
    end
    local due = tonumber(a.reminder_due or '0')
    if due > 0 then
      local rid = jid .. ':reminder'
      local rjob = G .. 'job:' .. rid
      if redis.call('EXISTS', rjob) == 0 then
        redis.call('HSET', rjob, 'type', 'reminder', 'person', pid, 'session', sid, 'booking', bid, 'deadline', '0',
                   'reason', '', 'kind', '', 'participation', '', 'source', 'gateway', 'created_ms', now,
                   'status', 'queued', 'tries', 0, 'attempts', 0)
        redis.call('ZADD', G .. 'due', due, rid)
        redis.call('ZADD', G .. 'jobs', now, rid)
        redis.call('ZADD', G .. 'person:' .. pid, now, rid)
      end
    end
  elseif o == 'held' then
    if redis.call('HSETNX', k.job, 'held_first_ms', now) == 1 then fig(G, day, 'held_quiet') end
    redis.call('HSET', k.job, 'status', 'held', 'held_until', a.at_ms, 'held_reason', a.reason)
    redis.call('ZADD', G .. 'due', a.at_ms, jid)
  elseif o == 'dropped' then
    redis.call('HSET', k.job, 'status', 'dropped', 'drop_reason', a.reason, 'closed_ms', now)
    fig(G, day, 'dropped:' .. a.reason)
    if a.reason == 'no_contact' then worklist_add(G, pid, jid, now) end
  elseif o == 'retry' then
    redis.call('HSET', k.job, 'status', 'failed', 'last_error', a.error, 'next_try', a.retry_at)
    redis.call('HINCRBY', k.job, 'tries', 1)
    redis.call('ZADD', G .. 'retry', a.retry_at, jid)
    fig(G, day, 'failed')
  elseif o == 'given_up' then
    redis.call('HSET', k.job, 'status', 'given_up', 'last_error', a.error, 'closed_ms', now)
    redis.call('HINCRBY', k.job, 'tries', 1)
    redis.call('ZADD', G .. 'flagged', now, jid)
    worklist_add(G, pid, jid, now)
    fig(G, day, 'failed')
    fig(G, day, 'given_up')
  else
    error('result: unknown outcome "' .. o .. '"', 0)
  end
  return o
end)

-- The bookings whose offer SMS went to pid (an offer held by quiet hours,
-- or dropped, was never seen: a reply cannot be its answer). Read from the
-- person's latest jobs.
local function offers_sent(G, pid)
  local sent = {}
  for _, jid in ipairs(redis.call('ZREVRANGE', G .. 'person:' .. pid, 0, 63)) do
    local j = redis.call('HMGET', G .. 'job:' .. jid, 'type', 'status', 'channel', 'booking')
    if j[1] == 'offer' and j[2] == 'sent' and j[3] == 'sms' and j[4] then sent[j[4]] = true end
  end
  return sent
end

-- reply_lookup(phone; now_ms): who may have sent an SMS from this number
-- (the people an SMS went to there), and what each has open: offers
-- waiting for an answer whose SMS was sent, the next booking, the survey
-- invitation. One list of pairs per person: person, offer (bid:deadline,
-- space separated), booking (bid:start of the next one), survey.* fields.
-- Also, where the scheduler's refusal can be known here: booking_late '1'
-- when the next booking is inside the cancellation cutoff (cutoff_ms, the
-- scheduler's), expired: how many offers sent lately (a week) are past their
-- deadline and were not taken.
step('reply_lookup', {keys = {'phone'}, args = {'now_ms', 'cutoff_ms'}}, function(k, a)
  local T = prefix_of(k.phone)
  local G = T .. 'gateway:'
  local now = tonumber(a.now_ms)
  local out = {}
  for _, pid in ipairs(redis.call('SMEMBERS', k.phone)) do
    local p = {'person', pid}
    local offers, next_bid, next_start = {}, nil, nil
    local sent = offers_sent(G, pid)
    local f = redis.call('HGETALL', T .. 'scheduler:person:' .. pid)
    for i = 1, #f, 2 do
      if string.sub(f[i], 1, 7) == 'active:' and f[i + 1] ~= 'waiting' then
        local bid = f[i + 1]
        local b = redis.call('HMGET', T .. 'scheduler:booking:' .. bid, 'status', 'deadline', 'sid')
        local start = b[3] and tonumber(redis.call('HGET', T .. 'scheduler:session:' .. b[3], 'start') or 0) or 0
        if b[1] == 'offered' and tonumber(b[2] or 0) > now and sent[bid] then
          offers[#offers + 1] = bid .. ':' .. b[2]
        elseif b[1] == 'booked' and start > now and (not next_start or start < next_start) then
          next_bid, next_start = bid, start
        end
      end
    end
    local expired = 0
    for bid in pairs(sent) do
      local b = redis.call('HMGET', T .. 'scheduler:booking:' .. bid, 'status', 'deadline')
      local dl = tonumber(b[2] or 0)
      if (b[1] == 'offered' or b[1] == 'expired') and dl <= now and dl > now - 7 * 86400000 then
        expired = expired + 1
      end
    end
    p[#p + 1] = 'offer'; p[#p + 1] = table.concat(offers, ' ')
    p[#p + 1] = 'booking'; p[#p + 1] = next_bid and (next_bid .. ':' .. next_start) or ''
    p[#p + 1] = 'booking_late'
    p[#p + 1] = (next_start and next_start - tonumber(a.cutoff_ms) <= now) and '1' or ''
    p[#p + 1] = 'expired'; p[#p + 1] = tostring(expired)
    hash_pairs(p, 'survey.', G .. 'survey:' .. pid)
    out[#out + 1] = p
  end
  return out
end)

-- The job of the gateway's own answer to a reply (not understood, refused),
-- due now.
local function answer_job(G, jid, jtype, pid, reason, now)
  local job = G .. 'job:' .. jid
  redis.call('HSET', job, 'type', jtype, 'person', pid, 'session', '', 'booking', '', 'deadline', '0',
             'reason', reason, 'kind', '', 'participation', '', 'source', 'gateway', 'created_ms', now,
             'status', 'queued', 'tries', 0, 'attempts', 0)
  redis.call('ZADD', G .. 'due', now, jid)
  redis.call('ZADD', G .. 'jobs', now, jid)
  redis.call('ZADD', G .. 'person:' .. pid, now, jid)
end

-- sms_reply: an incoming SMS, under a msg_id derived from it (a reply read
-- twice is answered from the mark). The C side decided, from reply_lookup,
-- what it is for; this records it, moves the figures, keeps a partial
-- survey answer (survey_score / survey_yes_no: '' = not given) until the
-- rest comes or survey_due_ms, marks the survey answered when the answer
-- went (survey_sent '1'), and makes the job of the polite answer to a reply
-- not understood (answer_job '1' or 'not_understood') or refused here
-- (answer_job 'reply_refused', answer_reason: why). The command it sends
-- (AnswerOffer, CancelBooking, SubmitSurvey) is in its outbox.
command('sms_reply', {
  keys = {'reply', 'fig_day', 'fig_total'},
  args = {'kind', 'action', 'person', 'now_ms', 'answer_job', 'survey_sent', 'survey_score', 'survey_yes_no',
          'survey_due_ms'},
  optional = {'answer_reason'},
}, function(k, a)
  local G = prefix_of(k.reply) .. 'gateway:'
  local msg_id = string.sub(k.reply, #G + 7)
  redis.call('HSET', k.reply, 'kind', a.kind, 'action', a.action, 'person', a.person, 'received_ms', a.now_ms)
  fig_count(k.fig_day, k.fig_total, 'replies:' .. a.kind)
  if a.person ~= '' then
    local s = G .. 'survey:' .. a.person
    if a.survey_sent == '1' then
      redis.call('HSET', s, 'answered_ms', a.now_ms)
      redis.call('HDEL', s, 'score', 'yes_no', 'partial_ms')
      redis.call('ZREM', G .. 'survey_due', a.person)
    elseif a.survey_score ~= '' or a.survey_yes_no ~= '' then
      if a.survey_score ~= '' then redis.call('HSET', s, 'score', a.survey_score) end
      if a.survey_yes_no ~= '' then redis.call('HSET', s, 'yes_no', a.survey_yes_no) end
      redis.call('HSET', s, 'partial_ms', a.now_ms)
      redis.call('ZADD', G .. 'survey_due', a.survey_due_ms, a.person)
    end
  end
  local jtype = a.answer_job == '1' and 'not_understood' or a.answer_job
  if jtype ~= '0' and jtype ~= '' and a.person ~= '' then
    if a.answer_reason and a.answer_reason ~= '' then
      redis.call('HSET', k.reply, 'refused', a.answer_reason)
      fig_count(k.fig_day, k.fig_total, 'replies_refused:' .. a.answer_reason)
    end
    answer_job(G, 'reply:' .. msg_id, jtype, a.person, a.answer_reason or '', a.now_ms)
  end
  return {'ok', 'person_id', a.person, 'status', a.action}
end)

-- reply_refused(reply, fig_day, fig_total; what, code, person, now_ms): the
-- command an SMS reply sent (what: cancel, offer, survey) was refused for a
-- business reason (code: TOO_LATE, OFFER_EXPIRED, ALREADY_ANSWERED …): that
-- is its answer, not a failure. The person (the reply's, else person) gets
-- one polite SMS saying why (job refused:<msg_id>, made once), the reply's
-- record says it, the figures count it. 'done', or 'dup' when it was
-- recorded before.
step('reply_refused', {keys = {'reply', 'fig_day', 'fig_total'}, args = {'what', 'code', 'person', 'now_ms'}},
     function(k, a)
  local G = prefix_of(k.reply) .. 'gateway:'
  local msg_id = string.sub(k.reply, #G + 7)
  local jid = 'refused:' .. msg_id
  if redis.call('EXISTS', G .. 'job:' .. jid) == 1 then return 'dup' end
  local pid = redis.call('HGET', k.reply, 'person') or a.person
  local reason = a.what .. ':' .. a.code
  if redis.call('EXISTS', k.reply) == 1 then redis.call('HSET', k.reply, 'refused', reason) end
  fig_count(k.fig_day, k.fig_total, 'replies_refused:' .. reason)
  if pid and pid ~= '' then answer_job(G, jid, 'reply_refused', pid, reason, a.now_ms) end
  return 'done'
end)

-- survey_pending(survey_due; now_ms, count): partial survey answers whose
-- wait is over: {{pid, participation, score, yes_no, session}, ...}.
step('survey_pending', {keys = {'survey_due'}, args = {'now_ms', 'count'}}, function(k, a)
  local G = string.match(k.survey_due, '^(tp:{[^}]*}:gateway:)')
  local out = {}
  for _, pid in ipairs(redis.call('ZRANGEBYSCORE', k.survey_due, '-inf', a.now_ms, 'LIMIT', 0, tonumber(a.count))) do
    local s = redis.call('HMGET', G .. 'survey:' .. pid, 'participation', 'score', 'yes_no', 'answered_ms', 'session')
    if s[1] and not s[4] then
      out[#out + 1] = {pid, s[1], s[2] or '', s[3] or '', s[5] or ''}
    else
      redis.call('ZREM', k.survey_due, pid)
    end
  end
  return out
end)

-- survey_flush: a partial survey answer sent as it is (its SubmitSurvey in
-- the outbox), under a msg_id derived from the participation.
command('survey_flush', {keys = {'survey', 'survey_due'}, args = {'person', 'now_ms'}}, function(k, a)
  redis.call('HSET', k.survey, 'answered_ms', a.now_ms)
  redis.call('HDEL', k.survey, 'score', 'yes_no', 'partial_ms')
  redis.call('ZREM', k.survey_due, a.person)
  return {'ok', 'person_id', a.person, 'status', 'survey_sent'}
end)

-- purge_phones(phones; before_ms, limit): the phone:<h> sets not written to
-- since before_ms (business time: the phones zset says when each was last
-- used) are deleted, at most limit; a reply from such a number is then from
-- an unknown sender. Returns how many.
step('purge_phones', {keys = {'phones'}, args = {'before_ms', 'limit'}}, function(k, a)
  local G = string.match(k.phones, '^(tp:{[^}]*}:gateway:)')
  local old = redis.call('ZRANGEBYSCORE', k.phones, '-inf', '(' .. a.before_ms, 'LIMIT', 0, tonumber(a.limit))
  for _, h in ipairs(old) do
    redis.call('DEL', G .. 'phone:' .. h)
    redis.call('ZREM', k.phones, h)
  end
  return #old
end)

-- erase_person: ErasePerson, passed on by intake (the right to erasure). The
-- person leaves every phone:<h> set (a set left empty goes, with its entry
-- in phones), their survey state goes, their pending jobs (queued, held,
-- failed) are dropped ('erased': counted as any drop), the mediator's flag
-- is cleared; the files (spool, reply texts) are deleted by the files timer
-- from erase_files. The job records (ids, types, times) stay: pseudonymous.
-- An erased person again: 'dup'. The phone sets are looked through (the
-- number is gone from intake, and the sets are keyed by it): O(sets kept,
-- those used within [retention] sms_days — a few thousand), for a command
-- that is rare, never on a hot path.
command('erase_person', {keys = {'erased', 'phones', 'fig_day', 'fig_total'}, args = {'person_id', 'now_ms'}},
        function(k, a)
  local pid, now = a.person_id, a.now_ms
  if redis.call('HEXISTS', k.erased, pid) == 1 then return {'dup', 'person_id', pid, 'status', 'erased'} end
  local G = prefix_of(k.erased) .. 'gateway:'
  local hashes = {}
  for _, h in ipairs(redis.call('ZRANGE', k.phones, 0, -1)) do
    if redis.call('SREM', G .. 'phone:' .. h, pid) == 1 then
      hashes[#hashes + 1] = h
      if redis.call('SCARD', G .. 'phone:' .. h) == 0 then redis.call('ZREM', k.phones, h) end
    end
  end
  redis.call('DEL', G .. 'survey:' .. pid)
  redis.call('ZREM', G .. 'survey_due', pid)
  local dropped = 0
  for _, jid in ipairs(redis.call('ZRANGE', G .. 'person:' .. pid, 0, -1)) do
    local st = redis.call('HGET', G .. 'job:' .. jid, 'status')
    if st == 'queued' or st == 'held' or st == 'failed' then
      redis.call('HSET', G .. 'job:' .. jid, 'status', 'dropped', 'drop_reason', 'erased', 'closed_ms', now)
      redis.call('ZREM', G .. 'due', jid)
      redis.call('ZREM', G .. 'retry', jid)
      fig_count(k.fig_day, k.fig_total, 'dropped:erased')
      dropped = dropped + 1
    end
  end
  worklist_clear(G, pid)
  redis.call('HSET', k.erased, pid, now .. ' ' .. dropped .. ' ' .. #hashes)
  redis.call('HSET', G .. 'erase_files', pid, table.concat(hashes, ' '))
  return {'ok', 'person_id', pid, 'status', 'erased:' .. dropped}
end)

-- erase_files_due(erase_files; count): the erased people whose files are
-- still to be deleted: {{pid, hashes, jid...}, ...} (jids: their jobs, whose
-- spool files are named by them).
step('erase_files_due', {keys = {'erase_files'}, args = {'count'}}, function(k, a)
  local G = prefix_of(k.erase_files) .. 'gateway:'
  local out = {}
  local f = redis.call('HGETALL', k.erase_files)
  for i = 1, math.min(#f, 2 * tonumber(a.count)), 2 do
    local e = {f[i], f[i + 1]}
    for _, jid in ipairs(redis.call('ZRANGE', G .. 'person:' .. f[i], 0, -1)) do e[#e + 1] = jid end
    out[#out + 1] = e
  end
  return out
end)

-- erase_files_done(erase_files, erased; person_id, files): the person's files
-- are deleted (files: how many).
step('erase_files_done', {keys = {'erase_files', 'erased'}, args = {'person_id', 'files'}}, function(k, a)
  if redis.call('HDEL', k.erase_files, a.person_id) == 1 then
    local e = redis.call('HGET', k.erased, a.person_id) or ''
    redis.call('HSET', k.erased, a.person_id, e .. ' ' .. a.files)
  end
  return 'done'
end)

-- purge_jobs(jobs; before_ms, limit): the job records made before before_ms
-- ([retention] attendance_days: a convocation names a person and a session)
-- are deleted with their entries in jobs, person:<pid> and flagged (a day's
-- letters:<day> keeps the ids); the figures they moved stay. A job still at
-- work (it cannot be, that old) is left. At most limit; returns how many.
step('purge_jobs', {keys = {'jobs'}, args = {'before_ms', 'limit'}}, function(k, a)
  local G = string.match(k.jobs, '^(tp:{[^}]*}:gateway:)')
  local old = redis.call('ZRANGEBYSCORE', k.jobs, '-inf', '(' .. a.before_ms, 'LIMIT', 0, tonumber(a.limit))
  local n = 0
  for _, jid in ipairs(old) do
    local j = redis.call('HMGET', G .. 'job:' .. jid, 'person', 'status')
    if j[2] ~= 'queued' and j[2] ~= 'held' and j[2] ~= 'sending' and j[2] ~= 'failed' then
      if j[1] and j[1] ~= '' then redis.call('ZREM', G .. 'person:' .. j[1], jid) end
      redis.call('ZREM', G .. 'flagged', jid)
      redis.call('DEL', G .. 'job:' .. jid)
      redis.call('ZREM', k.jobs, jid)
      n = n + 1
    end
  end
  return n
end)
