#!lua name=__LIB__
--[[ The bus side of every service's Redis function library.

The build puts this file in front of the service's own functions; the loader
replaces __LIB__ by the library name (service and version, e.g. intake_v1) so
two versions can run side by side and function names never collide.

A command handler is registered with command(name, fn). Its FCALL carries:
  KEYS[1]  the idempotency mark  tp:{T}:<svc>:seen:<msg_id>
  KEYS[2]  the service's outbox  tp:{T}:<svc>:outbox
  KEYS[3..] the handler's keys (same territory)
  ARGV[1]  mark lifetime in seconds
  ARGV[2]  digest of what the command asks (its payload; '' for a service's
           own step)
  ARGV[3]  n: number of outgoing messages, then n triples (to, msg_id, bytes)
  ARGV[..] the handler's arguments
fn(keys, args) returns {'ok', k1, v1, ...}, {'err', code, field, message_fr},
or {'dup', k1, v1, ...} when it recognised a business duplicate (the same
referral sent again under a new msg_id): answered like 'ok' with
duplicate = 1, and nothing is sent; or {'retry', code, field, message_fr}:
not now — fn wrote nothing, no mark is kept, and the answer is a retryable
Error (the sender counts a try and sends it again later). The wrapper stores the answer under the
mark and appends the outgoing messages to the outbox only when fn answered
'ok' (fn may return a second value, a set {[i] = true} of the messages to
send when it chose among prepared ones): state, mark and outbox in one step.
The mark keeps the digest next to the answer. A replay (mark present, same
digest: a resend is byte-identical) returns the first answer, marked
duplicate, and changes nothing; the same msg_id with another content is a
CONFLICT, never another command's answer.

Redis does not roll back a function that raises after writing: a handler
checks everything first, then writes. ]]

local LIB = '__LIB__'

-- The words of a space-separated list (C joins lists with util_join), nil
-- read as none.
local function words(s)
  local t = {}
  for w in string.gmatch(s or '', '%S+') do t[#t + 1] = w end
  return t
end

local function command(name, fn)
  redis.register_function(LIB .. '_' .. name, function(keys, args)
    local first = redis.call('GET', keys[1])
    if first then
      local mark = cjson.decode(first)
      local answer = mark.answer or mark -- a mark of an earlier build: the answer alone
      if mark.answer and mark.digest ~= args[2] then
        return {'err', 'CONFLICT', 'msg_id',
                'Identifiant de message déjà utilisé pour un autre contenu : envoyer avec un nouvel identifiant.'}
      end
      if answer[1] == 'ok' and answer[#answer - 1] ~= 'duplicate' then
        answer[#answer + 1] = 'duplicate'
        answer[#answer + 1] = '1'
      end
      return answer
    end
    local nout = tonumber(args[3])
    local hkeys, hargs = {}, {}
    for i = 3, #keys do hkeys[#hkeys + 1] = keys[i] end
    for i = 4 + 3 * nout, #args do hargs[#hargs + 1] = args[i] end
    local answer, only = fn(hkeys, hargs)
    if answer[1] == 'retry' then return answer end
    if answer[1] == 'dup' then
      answer[1] = 'ok'
      answer[#answer + 1] = 'duplicate'
      answer[#answer + 1] = '1'
    elseif answer[1] == 'ok' then
      for i = 0, nout - 1 do
        local b = 4 + 3 * i
        if not only or only[i + 1] then
          redis.call('XADD', keys[2], '*', 'to', args[b], 'id', args[b + 1], 'msg', args[b + 2])
        end
      end
    end
    redis.call('SET', keys[1], cjson.encode({digest = args[2], answer = answer}), 'EX', args[1])
    return answer
  end)
end

-- Outbox relay -------------------------------------------------------------
-- KEYS[1] outbox stream. The consumer group 'relay' gives each entry to one
-- instance; an entry idle for longer than the lease (its owner stopped
-- resending) is claimed by another.

-- The fields of a stream entry {id, {name, value, ...}} as a table.
local function fields(e)
  local f = {}
  for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
  return f
end

-- Appends an outbox entry to out as the relay takes it: stream_id, to,
-- msg_id, bytes, tries.
local function relay_entry(out, e, tries)
  local f = fields(e)
  out[#out + 1] = e[1]
  out[#out + 1] = f.to or ''
  out[#out + 1] = f.id or ''
  out[#out + 1] = f.msg or ''
  out[#out + 1] = tries
end

-- take(outbox; consumer, count, lease_ms, mode) returns
-- {stream_id, to, msg_id, bytes, tries}... The mode says where from:
--   'own'   this consumer's pending entries (re-read after a restart);
--   'claim' entries idle longer than the lease (their owner died), then new;
--   'new'   entries never delivered.
redis.register_function(LIB .. '_outbox_take', function(keys, args)
  local key, consumer, count, lease, mode = keys[1], args[1], tonumber(args[2]), args[3], args[4]
  local out = {}
  local function add(entries, tries_of)
    for _, e in ipairs(entries) do
      if #out / 5 >= count then return end
      if e[2] then relay_entry(out, e, tries_of(e[1])) end -- a nil body: deleted meanwhile
    end
  end
  local function pending_tries(entries)
    local t = {}
    if #entries > 0 then
      local range = redis.call('XPENDING', key, 'relay', entries[1][1], entries[#entries][1], #entries * 4, consumer)
      for _, p in ipairs(range) do t[p[1]] = p[4] end
    end
    return function(id) return t[id] or 1 end
  end
  if mode == 'own' then
    local r = redis.call('XREADGROUP', 'GROUP', 'relay', consumer, 'COUNT', count, 'STREAMS', key, '0')
    local entries = (r and r[1] and r[1][2]) or {}
    add(entries, pending_tries(entries))
    return out
  end
  if mode == 'claim' then
    local c = redis.call('XAUTOCLAIM', key, 'relay', consumer, lease, '0', 'COUNT', count)
    add(c[2], pending_tries(c[2]))
  end
  if #out / 5 < count then
    local r = redis.call('XREADGROUP', 'GROUP', 'relay', consumer, 'COUNT', count - #out / 5, 'STREAMS', key, '>')
    if r and r[1] then add(r[1][2], function() return 1 end) end
  end
  return out
end)

-- orphans(outbox; consumer, count, from, budget): entries the group has
-- passed (at or before its last-delivered id) that are in no pending list.
-- Nobody would ever read them again: they were neither acknowledged (that
-- deletes them) nor are they pending. Redis leaves them behind when it loses
-- part of what it wrote (an AOF replayed in part, a failover to a replica
-- that lagged): the group's cursor survives, the pending entries do not.
-- Cheap when there are none: XLEN = pending + lag (entries not delivered yet)
-- accounts for every entry. Otherwise scans at most `budget` entries from
-- `from` ('' = the start), claims up to `count` orphans for consumer (XCLAIM
-- FORCE creates their pending entry) and returns {next, stream_id, to, msg_id,
-- bytes, tries}... where next is where to go on, '' once the scan reached the
-- group's cursor.
redis.register_function(LIB .. '_outbox_orphans', function(keys, args)
  local key, consumer, count, budget = keys[1], args[1], tonumber(args[2]), tonumber(args[4])
  if redis.call('EXISTS', key) == 0 then return {''} end
  local group
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', key)) do
    local f = {}
    for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
    if f.name == 'relay' then group = f end
  end
  if not group then return {''} end
  if group.lag and redis.call('XLEN', key) <= group.pending + group.lag then return {''} end
  local out, examined, from = {''}, 0, args[3] ~= '' and args[3] or '-'
  while examined < budget do
    local want = math.min(100, budget - examined)
    local page = redis.call('XRANGE', key, from, group['last-delivered-id'], 'COUNT', want)
    for _, e in ipairs(page) do
      examined = examined + 1
      from = '(' .. e[1]
      if #redis.call('XPENDING', key, 'relay', e[1], e[1], 1) == 0 then
        redis.call('XCLAIM', key, 'relay', consumer, 0, e[1], 'FORCE', 'JUSTID')
        relay_entry(out, e, 1)
        if (#out - 1) / 5 >= count then
          out[1] = from
          return out
        end
      end
    end
    if #page < want then return out end
  end
  out[1] = from
  return out
end)

-- done(outbox; id...): acknowledged by the receiver, gone from the outbox.
redis.register_function(LIB .. '_outbox_done', function(keys, args)
  redis.call('XACK', keys[1], 'relay', unpack(args))
  return redis.call('XDEL', keys[1], unpack(args))
end)

-- touch(outbox; consumer, id...): its owner still works on these entries;
-- resets their idle time (renews the lease). JUSTID: not a delivery, the
-- owner counts its own tries.
redis.register_function(LIB .. '_outbox_touch', function(keys, args)
  local consumer = table.remove(args, 1)
  args[#args + 1] = 'JUSTID'
  return #redis.call('XCLAIM', keys[1], 'relay', consumer, 0, unpack(args))
end)

-- dead(outbox, dead; id, error, tries): moves one entry to the dead letters.
redis.register_function(LIB .. '_outbox_dead', function(keys, args)
  local e = redis.call('XRANGE', keys[1], args[1], args[1])
  if #e == 0 then return 0 end
  local f = e[1][2]
  table.insert(f, 'error'); table.insert(f, args[2])
  table.insert(f, 'tries'); table.insert(f, args[3])
  table.insert(f, 'outbox_id'); table.insert(f, args[1])
  redis.call('XADD', keys[2], '*', unpack(f))
  redis.call('XACK', keys[1], 'relay', args[1])
  redis.call('XDEL', keys[1], args[1])
  return 1
end)

-- dead_retry(dead, outbox; id...): puts dead letters back in the outbox with
-- their original message ids, so receivers still recognise them; returns how
-- many were there.
redis.register_function(LIB .. '_dead_retry', function(keys, args)
  local moved = 0
  for _, id in ipairs(args) do
    local e = redis.call('XRANGE', keys[1], id, id)
    if #e > 0 then
      local f = fields(e[1])
      redis.call('XADD', keys[2], '*', 'to', f.to, 'id', f.id, 'msg', f.msg)
      redis.call('XDEL', keys[1], id)
      moved = moved + 1
    end
  end
  return moved
end)

-- Timers ---------------------------------------------------------------------
-- lease(KEYS 1 lease key; ARGV 1 instance, 2 ttl_ms): a service's timers
-- (offer expiry, purges …) run in one instance at a time; another takes over
-- when the holder stops renewing. Returns 1 when the caller holds it.
redis.register_function(LIB .. '_lease', function(keys, args)
  local holder = redis.call('GET', keys[1])
  if holder == false or holder == args[1] then
    redis.call('SET', keys[1], args[1], 'PX', args[2])
    return 1
  end
  return 0
end)

-- Bus self-test ----------------------------------------------------------
-- probe: the last hop counts the probe key once (KEYS[1] a hash of
-- key -> times executed; more than 1 would be a duplicate effect).
-- args: 'last' or 'forward', the probe key, '1' poisoned (a Lua error),
-- '2' poisoned retryable (refused each time, for the relay's retries).
command('probe', function(keys, args)
  if args[3] == '1' then error('poisoned probe') end
  if args[3] == '2' then
    return {'retry', 'POISONED_PROBE', 'probe.poison_retryable', 'Sonde refusée à chaque essai (test des reprises).'}
  end
  if args[1] == 'last' then redis.call('HINCRBY', keys[1], args[2], 1) end
  return {'ok', 'status', 'probed'}
end)
