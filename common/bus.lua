#!lua name=__LIB__
--[[ The bus side of every service's Redis function library.

The build puts this file in front of the service's own functions; the loader
replaces __LIB__ by the library name (service and version, e.g. intake_v1) so
two versions can run side by side and function names never collide.

Every function is registered with its schema, the names of its keys and
arguments, and receives them by name:

  command('assign', {keys = {'assignment', 'person'},
                     args = {'referral_id', 'kind'}, optional = {'reason'}},
          function(k, a) ... k.person ... a.kind ... end)

A command is a step of a command handler, idempotent on its msg_id. Its FCALL
(built by common/call.c, call_function) carries the bus prefix, then the
named part:
  KEYS[1]  the idempotency mark  tp:{T}:<svc>:seen:<msg_id>
  KEYS[2]  the service's outbox  tp:{T}:<svc>:outbox
  KEYS[3..] the handler's keys (same territory)
  ARGV[1]  mark lifetime in seconds
  ARGV[2]  digest of what the command asks (its payload)
  ARGV[3]  n: number of outgoing messages, then n triples (to, msg_id, bytes)
  then     the names of KEYS[3..] in their order, in one argument
           ("assignment person"), the names of the arguments in another
           ("referral_id kind"), then the arguments' values in that order.
A step (step(name, schema, fn); call_step in C: timers, the outbox relay,
leases) has no prefix: KEYS are its keys, ARGV[1] their names, ARGV[2] the
names of its arguments, then their values.

The names are checked here, once for every function, as Redis checks a
command's arity: a name the schema does not have, one given twice, a key or
required argument missing, or a count of keys or values that differs from
their names is an error ('assign: missing argument "kind"'), raised before
the function runs. A function's error is a bug: the caller answers INTERNAL,
not retryable, and the sender moves the message to its dead letters at once.
An optional argument that was not sent is nil; a name the schema does not
have, read in the function, is an error too. (A layout of names found good
is remembered: the names are read once, not at every call.)

fn(k, a) of a command returns {'ok', k1, v1, ...}, {'err', code, field,
message_fr}, or {'dup', k1, v1, ...} when it recognised a business duplicate
(the same referral sent again under a new msg_id): answered like 'ok' with
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

-- The words of a space-separated list (C joins lists with call_arg_list),
-- nil read as none.
local function words(s)
  local t = {}
  for w in string.gmatch(s or '', '%S+') do t[#t + 1] = w end
  return t
end

-- Appends its other arguments to t (fields and values of an HSET built up).
local function put(t, ...)
  for i = 1, select('#', ...) do t[#t + 1] = select(i, ...) end
end

-- Named keys and arguments ---------------------------------------------------

local function bad(c, what, n)
  error(c.name .. ': ' .. what .. ' "' .. n .. '"', 0)
end

-- A schema as the check reads it: name -> true for the keys; name -> true
-- (required) or false (optional) for the arguments; the layouts found good
-- so far; and the metatables of k and a, which refuse a name the schema does
-- not have (a typo in the function: 'no argument "given_nam"') and read an
-- optional argument not sent as nil. (Built as the library loads, when Redis
-- offers no ipairs yet.)
local function schema_of(name, s)
  local c = {name = name, keys = {}, args = {}, key_list = s.keys or {}, required = s.args or {}, layouts = {},
             nlayouts = 0}
  local optional = s.optional or {}
  for i = 1, #c.key_list do c.keys[c.key_list[i]] = true end
  for i = 1, #c.required do c.args[c.required[i]] = true end
  for i = 1, #optional do c.args[optional[i]] = false end
  c.kmeta = {__index = function(_, n) bad(c, 'no key', n) end}
  c.ameta = {__index = function(_, n) if c.args[n] == nil then bad(c, 'no argument', n) end end}
  return c
end

-- The words of names: each one the schema knows, none twice, every required
-- one there.
local function check_names(c, names, known, required, what)
  local list, seen = {}, {}
  for w in string.gmatch(names, '%S+') do
    if known[w] == nil then bad(c, 'unknown ' .. what, w) end
    if seen[w] then bad(c, 'duplicate ' .. what, w) end
    seen[w] = true
    list[#list + 1] = w
  end
  for i = 1, #required do
    if not seen[required[i]] then bad(c, 'missing ' .. what, required[i]) end
  end
  return list
end

-- A caller sends few layouts (one per set of optional arguments it gives):
-- each is checked the first time, then found here, with its own tables k and
-- a, refilled at each call (the hot path allocates nothing; a function reads
-- them during its call only, and Redis runs one call at a time). A caller
-- sending more than LAYOUTS_MAX has each checked again at every call.
local LAYOUTS_MAX = 256

local function layout(c, knames, anames)
  local by_keys = c.layouts[knames]
  local l = by_keys and by_keys[anames]
  if l then return l end
  l = {keys = check_names(c, knames, c.keys, c.key_list, 'key'),
       args = check_names(c, anames, c.args, c.required, 'argument'),
       k = setmetatable({}, c.kmeta), a = setmetatable({}, c.ameta)}
  if c.nlayouts < LAYOUTS_MAX then
    if not by_keys then by_keys = {}; c.layouts[knames] = by_keys end
    by_keys[anames] = l
    c.nlayouts = c.nlayouts + 1
  end
  return l
end

-- The tables k and a of a call: keys[kfrom..] named by the words of
-- args[afrom], the values args[afrom + 2..] by those of args[afrom + 1].
local function named(c, keys, kfrom, args, afrom)
  local l = layout(c, args[afrom] or '', args[afrom + 1] or '')
  local kl, al = l.keys, l.args
  if #kl ~= #keys - kfrom + 1 then
    error(c.name .. ': ' .. #kl .. ' key names for ' .. (#keys - kfrom + 1) .. ' keys', 0)
  end
  if #al ~= #args - afrom - 1 then
    error(c.name .. ': ' .. #al .. ' argument names for ' .. math.max(#args - afrom - 1, 0) .. ' values', 0)
  end
  local k, a = l.k, l.a
  for i = 1, #kl do k[kl[i]] = keys[kfrom + i - 1] end
  for i = 1, #al do a[al[i]] = args[afrom + 1 + i] end
  return k, a
end

-- Figures ------------------------------------------------------------------
-- fig_incr(key, field, by) counts a figure (docs/figures.md). A call's
-- increments are gathered and written once per hash when the function
-- returns: one HMGET and one HSET per hash instead of one HINCRBY per field
-- (a referral counts ~50 fields over a few hashes: day, total, current, each
-- by branch and partner too). The hashes end as HINCRBY would leave them; a
-- figure is never read back by the call that counts it. A function that
-- raises writes none of its figures (nor should it have written anything
-- else: see command below).
local figs = {keys = {}, fields = {}}

-- A call's scratch, emptied at each call with its figures: what a function
-- looks up once and reads again in the same call (the scheduler's branch and
-- partner of a person, for the figures' breakdowns).
local percall = {}

local function fig_incr(key, field, by)
  local f = figs.fields[key]
  if not f then
    f = {order = {}, by = {}}
    figs.fields[key] = f
    figs.keys[#figs.keys + 1] = key
  end
  if not f.by[field] then f.order[#f.order + 1] = field; f.by[field] = 0 end
  f.by[field] = f.by[field] + (by or 1)
end

-- A figure of the day (day_key) that the total (total_key) counts too.
local function fig_count(day_key, total_key, field, by)
  fig_incr(day_key, field, by)
  fig_incr(total_key, field, by)
end

-- Each function call starts with no figures and an empty scratch.
local function call_begin()
  figs.keys, figs.fields, percall = {}, {}, {}
end

local function figs_flush()
  for _, key in ipairs(figs.keys) do
    local f = figs.fields[key]
    if #f.order == 1 then -- one field: HINCRBY is one call, not two
      redis.call('HINCRBY', key, f.order[1], f.by[f.order[1]])
    else
      local now = redis.call('HMGET', key, unpack(f.order))
      local set = {}
      for i, field in ipairs(f.order) do
        if f.by[field] ~= 0 or not now[i] then -- a field counted is there, if only at 0
          put(set, field, string.format('%d', (tonumber(now[i]) or 0) + f.by[field]))
        end
      end
      if #set > 0 then redis.call('HSET', key, unpack(set)) end
    end
  end
end

-- A service's own step: no idempotency mark, no outbox.
local function step(name, schema, fn)
  local c = schema_of(name, schema)
  redis.register_function(LIB .. '_' .. name, function(keys, args)
    call_begin()
    local r = fn(named(c, keys, 1, args, 1))
    figs_flush()
    return r
  end)
end

-- Commands -------------------------------------------------------------------

-- The audit trail of a territory (docs/operations.md): one stream per
-- territory outside the tp: key space, so that the operator's Redis user,
-- which reaches every tp: key, may read it but not write, trim nor delete
-- it. A command an operator sent (common/access.h: the inbox names it, the
-- sender cannot) adds one entry once it took effect: who, what, on what; the
-- entry's id is its time. Entries older than audit_keep_ms go as entries
-- are added (the retention, [retention] audit_days). Probes (the bus's
-- self-test, tens of thousands at a time, no business data) are not in it.
local AUDIT_SUBJECTS = {'referral_id', 'booking_id', 'session_id', 'person_id'}

local function audit_write(keys, name, a, answer)
  local subject, kind, action = '', 'write', name
  if name == 'record_read' then kind, action, subject = 'read', a.action, a.subject end
  for i = 2, #answer - 1, 2 do
    for j = 1, #AUDIT_SUBJECTS do
      if subject == '' and answer[i] == AUDIT_SUBJECTS[j] then subject = answer[i + 1] end
    end
  end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local territory = string.match(keys[2], '^tp:{([^}]*)}')
  redis.call('XADD', 'audit:{' .. territory .. '}', 'MINID', '~', tostring(now - tonumber(a.audit_keep_ms)), '*',
             'op', a.operator, 'kind', kind, 'action', action, 'svc', LIB, 'subject', subject)
end

local function command(name, schema, fn)
  local c = schema_of(name, schema)
  -- every command may name the operator who sent it (the inbox adds both)
  c.args.operator, c.args.audit_keep_ms = false, false
  redis.register_function(LIB .. '_' .. name, function(keys, args)
    local nout = tonumber(args[3])
    if not nout or #keys < 2 then error(name .. ': not a command\'s call (no bus prefix)', 0) end
    -- checked first, replay or not: a call the schema refuses is a bug, always
    local k, a = named(c, keys, 3, args, 4 + 3 * nout)
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
    call_begin()
    local answer, only = fn(k, a)
    figs_flush()
    if answer[1] == 'retry' then return answer end
    if answer[1] == 'dup' then
      answer[1] = 'ok'
      answer[#answer + 1] = 'duplicate'
      answer[#answer + 1] = '1'
    elseif answer[1] == 'ok' then
      if a.operator and name ~= 'probe' then audit_write(keys, name, a, answer) end
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

-- record_read: an operator reads personal data (common/svc_audit.c); the
-- wrapper writes its entry, as for every operator's command.
command('record_read', {args = {'action', 'subject'}}, function(k, a)
  return {'ok'}
end)

-- Outbox relay -------------------------------------------------------------
-- Steps on the key 'outbox', the outbox stream. The consumer group 'relay' gives each entry to one
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

-- outbox_take(outbox; consumer, count, lease_ms, mode) returns
-- {stream_id, to, msg_id, bytes, tries}... The mode says where from:
--   'own'   this consumer's pending entries (re-read after a restart);
--   'claim' entries idle longer than the lease (their owner died), then new;
--   'new'   entries never delivered.
step('outbox_take', {keys = {'outbox'}, args = {'consumer', 'count', 'lease_ms', 'mode'}}, function(k, a)
  local key, consumer, count, lease, mode = k.outbox, a.consumer, tonumber(a.count), a.lease_ms, a.mode
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

-- outbox_orphans(outbox; consumer, count, from, budget): entries the group has
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
step('outbox_orphans', {keys = {'outbox'}, args = {'consumer', 'count', 'from', 'budget'}}, function(k, a)
  local key, consumer, count, budget = k.outbox, a.consumer, tonumber(a.count), tonumber(a.budget)
  if redis.call('EXISTS', key) == 0 then return {''} end
  local group
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', key)) do
    local f = {}
    for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
    if f.name == 'relay' then group = f end
  end
  if not group then return {''} end
  if group.lag and redis.call('XLEN', key) <= group.pending + group.lag then return {''} end
  local out, examined, from = {''}, 0, a.from ~= '' and a.from or '-'
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

-- outbox_done(outbox; ids): acknowledged by the receiver, gone from the
-- outbox.
step('outbox_done', {keys = {'outbox'}, args = {'ids'}}, function(k, a)
  local ids = words(a.ids)
  redis.call('XACK', k.outbox, 'relay', unpack(ids))
  return redis.call('XDEL', k.outbox, unpack(ids))
end)

-- outbox_touch(outbox; consumer, ids): its owner still works on these
-- entries; resets their idle time (renews the lease). JUSTID: not a
-- delivery, the owner counts its own tries.
step('outbox_touch', {keys = {'outbox'}, args = {'consumer', 'ids'}}, function(k, a)
  local ids = words(a.ids)
  ids[#ids + 1] = 'JUSTID'
  return #redis.call('XCLAIM', k.outbox, 'relay', a.consumer, 0, unpack(ids))
end)

-- outbox_dead(outbox, dead; id, error, tries): moves one entry to the dead
-- letters.
step('outbox_dead', {keys = {'outbox', 'dead'}, args = {'id', 'error', 'tries'}}, function(k, a)
  local e = redis.call('XRANGE', k.outbox, a.id, a.id)
  if #e == 0 then return 0 end
  local f = e[1][2]
  table.insert(f, 'error'); table.insert(f, a.error)
  table.insert(f, 'tries'); table.insert(f, a.tries)
  table.insert(f, 'outbox_id'); table.insert(f, a.id)
  redis.call('XADD', k.dead, '*', unpack(f))
  redis.call('XACK', k.outbox, 'relay', a.id)
  redis.call('XDEL', k.outbox, a.id)
  return 1
end)

-- dead_retry(dead, outbox; ids): puts dead letters back in the outbox with
-- their original message ids, so receivers still recognise them; returns how
-- many were there.
step('dead_retry', {keys = {'dead', 'outbox'}, args = {'ids'}}, function(k, a)
  local moved = 0
  for _, id in ipairs(words(a.ids)) do
    local e = redis.call('XRANGE', k.dead, id, id)
    if #e > 0 then
      local f = fields(e[1])
      redis.call('XADD', k.outbox, '*', 'to', f.to, 'id', f.id, 'msg', f.msg)
      redis.call('XDEL', k.dead, id)
      moved = moved + 1
    end
  end
  return moved
end)

-- Timers ---------------------------------------------------------------------
-- lease(lease; holder, ttl_ms): a service's timers (offer expiry, purges …)
-- run in one instance at a time; another takes over when the holder stops
-- renewing. Returns 1 when the caller holds it.
step('lease', {keys = {'lease'}, args = {'holder', 'ttl_ms'}}, function(k, a)
  local holder = redis.call('GET', k.lease)
  if holder == false or holder == a.holder then
    redis.call('SET', k.lease, a.holder, 'PX', a.ttl_ms)
    return 1
  end
  return 0
end)

-- Bus self-test ----------------------------------------------------------
-- probe: the last hop counts the probe key once (seen: a hash of key ->
-- times executed; more than 1 would be a duplicate effect). hop: 'last' or
-- 'forward'; poison: '1' a Lua error, '2' refused each time (retryable, for
-- the relay's retries), '0' none.
command('probe', {keys = {'seen'}, args = {'hop', 'key', 'poison'}}, function(k, a)
  if a.poison == '1' then error('poisoned probe') end
  if a.poison == '2' then
    return {'retry', 'POISONED_PROBE', 'probe.poison_retryable', 'Sonde refusée à chaque essai (test des reprises).'}
  end
  if a.hop == 'last' then redis.call('HINCRBY', k.seen, a.key, 1) end
  return {'ok', 'status', 'probed'}
end)
