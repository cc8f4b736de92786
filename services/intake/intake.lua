-- intake: Redis functions of the intake service (appended to common/bus.lua).
-- Keys: tp:{T}:intake:*  — pseudonymous records (ref, referral, person), the
-- personal data apart (contact, with its retention date), figures (fig), and
-- worklist: zset ms -> 'no_contact|<pid>', a person referred with neither a
-- phone nor an address left (a person known before whose contact was
-- purged), until a referral gives one (tremplin worklist); referrals:<pid>,
-- zset ms -> referral id: a person's referrals (tremplin person show).

-- submit_referral: a referral accepted — the business key (branch,
-- external_ref), the pseudonymous records, the personal data apart with its
-- retention date, the figures. digest: of the referral as packed (tells a
-- retry from a conflict); known: '1' when the person was already known;
-- needs, availability, purposes: lists. The personal fields are sent only
-- when given.
local CONTACT = {'given_name', 'family_name', 'phone', 'line1', 'line2', 'postcode', 'city', 'birth_year',
                 'accessibility'}
command('submit_referral', {
  keys = {'ref', 'referral', 'person', 'contact', 'fig_day', 'fig_total', 'retention'},
  args = {'digest', 'referral_id', 'person_id', 'known', 'branch', 'external_ref', 'now_ms', 'retain_until_ms',
          'mediator', 'partner', 'needs', 'answers', 'availability', 'purposes', 'consent_version', 'consent_at_ms'},
  optional = CONTACT,
}, function(k, a)
  local first = redis.call('HMGET', k.ref, 'digest', 'referral_id', 'person_id')
  if first[1] then
    if first[1] ~= a.digest then
      return {'err', 'CONFLICT', 'external_ref',
              'Cette référence a déjà été envoyée avec un contenu différent.'}
    end
    return {'dup', 'referral_id', first[2], 'person_id', first[3], 'status', 'accepted'}
  end
  local known = a.known == '1'
  if known and redis.call('EXISTS', k.person) == 0 then
    return {'err', 'UNKNOWN_PERSON', 'person.person_id',
            'Personne inconnue : vérifier l\'identifiant transmis.'}
  end
  local rid, pid, now = a.referral_id, a.person_id, a.now_ms
  if not known and redis.call('EXISTS', k.person) == 1 then -- ids are derived: never overwrite someone
    return {'err', 'CONFLICT', 'person', 'Identifiant déjà attribué : renvoyer avec un nouvel identifiant de message.'}
  end

  redis.call('HSET', k.ref, 'digest', a.digest, 'referral_id', rid, 'person_id', pid)
  redis.call('HSET', k.referral, 'branch', a.branch, 'external_ref', a.external_ref, 'person_id', pid,
             'mediator', a.mediator, 'partner', a.partner, 'needs', a.needs, 'answers', a.answers,
             'availability', a.availability, 'created_ms', now, 'status', 'accepted')
  -- the person: consent recorded per purpose, with the text version and when
  local person = {'availability', a.availability, 'last_referral', rid, 'consent_version', a.consent_version,
                  'consent_at', a.consent_at_ms}
  if not known then put(person, 'created_ms', now, 'first_branch', a.branch, 'first_referral', rid, 'referrals', 1) end
  for _, p in ipairs(words(a.purposes)) do put(person, 'consent:' .. p, 'given') end
  redis.call('HSET', k.person, unpack(person))
  if known then redis.call('HINCRBY', k.person, 'referrals', 1) end
  -- a person's referrals, for the people who look them up (person show)
  redis.call('ZADD', string.match(k.person, '^(tp:{[^}]*}:intake:)') .. 'referrals:' .. pid, now, rid)

  -- personal data, apart, with its retention date; only what was sent
  local contact = {'retain_until_ms', a.retain_until_ms}
  for _, f in ipairs(CONTACT) do
    if a[f] then put(contact, f, a[f]) end
  end
  redis.call('HSET', k.contact, unpack(contact))
  redis.call('ZADD', k.retention, a.retain_until_ms, pid)
  -- nobody to convoke: the mediator's worklist, until a referral gives a way
  -- (a new person's contact is what was just sent, and no worklist has them)
  local reach = known and redis.call('HMGET', k.contact, 'phone', 'line1') or {a.phone, a.line1}
  local worklist = string.match(k.person, '^(tp:{[^}]*}:intake:)') .. 'worklist'
  if not (reach[1] or reach[2]) then
    redis.call('ZADD', worklist, now, 'no_contact|' .. pid)
  elseif known then
    redis.call('ZREM', worklist, 'no_contact|' .. pid)
  end

  -- figures: ids and counts only (docs/figures.md); by branch and by the
  -- mediator's partner, in the day and in the total
  for _, f in ipairs({'referrals', 'referrals:' .. a.branch, 'referrals@p:' .. a.partner}) do
    fig_count(k.fig_day, k.fig_total, f)
  end
  if not known then
    fig_incr(k.fig_day, 'people_new', 1)
    fig_incr(k.fig_total, 'people', 1)
  end
  for _, n in ipairs(words(a.needs)) do
    fig_incr(k.fig_day, 'need:' .. n, 1)
  end
  return {'ok', 'referral_id', rid, 'person_id', pid, 'status', 'accepted'}
end)

-- no_consent: a referral refused for want of consent is not stored, but
-- counted once per (branch, external_ref) for the figures. noconsent: the
-- digests seen that day for the branch, noconsent_before: the day before's
-- (a retry across midnight). field, message: the answer, from the checks.
command('no_consent', {
  keys = {'noconsent', 'fig_day', 'fig_total', 'noconsent_before'},
  args = {'branch', 'external_ref', 'field', 'message'},
}, function(k, a)
  local digest = redis.sha1hex(a.external_ref)
  if redis.call('SISMEMBER', k.noconsent_before, digest) == 0 and redis.call('SADD', k.noconsent, digest) == 1 then
    redis.call('EXPIRE', k.noconsent, 172800) -- the dedupe set outlives any retry
    fig_count(k.fig_day, k.fig_total, 'no_consent')
    fig_count(k.fig_day, k.fig_total, 'no_consent:' .. a.branch)
  end
  return {'err', 'CONSENT_REQUIRED', a.field, a.message}
end)

-- A consent withdrawn (once: a second withdrawal changes nothing), dated and
-- counted in the day's figures.
local function withdraw(person, fig_day, purpose, now)
  local field = 'consent:' .. purpose
  if redis.call('HGET', person, field) ~= 'withdrawn' then
    redis.call('HSET', person, field, 'withdrawn', field .. ':withdrawn_ms', now)
    fig_incr(fig_day, 'consent_withdrawn:' .. purpose, 1)
  end
end

-- withdraw_consent: no more SMS or surveys (or training) for that purpose.
command('withdraw_consent', {keys = {'person', 'fig_day'}, args = {'purpose', 'now_ms', 'person_id'}}, function(k, a)
  if redis.call('EXISTS', k.person) == 0 then
    return {'err', 'UNKNOWN_PERSON', 'person_id', 'Personne inconnue : vérifier l\'identifiant transmis.'}
  end
  withdraw(k.person, k.fig_day, a.purpose, a.now_ms)
  return {'ok', 'person_id', a.person_id, 'status', 'withdrawn'}
end)

-- erase_person: the right to erasure. The contact data goes (and its
-- retention entry, and the mediator's 'no_contact' flag), every consent
-- given is withdrawn as withdraw_consent does it (the scheduler releases the
-- person's seats from the ConsentWithdrawn in this step's outbox; the survey
-- and the gateway erase their parts from the ErasePerson passed on), and the
-- pseudonymous record says when (erased_ms). The referrals, the level and
-- the per-person facts of the figures stay. An erased person again: 'dup'.
command('erase_person', {keys = {'person', 'contact', 'retention', 'fig_day'}, args = {'person_id', 'now_ms'}},
        function(k, a)
  if redis.call('EXISTS', k.person) == 0 then
    return {'err', 'UNKNOWN_PERSON', 'person_id', 'Personne inconnue : vérifier l\'identifiant transmis.'}
  end
  local erased = redis.call('HGET', k.person, 'erased_ms')
  if erased then return {'dup', 'person_id', a.person_id, 'status', 'erased'} end
  local P = string.match(k.person, '^(tp:{[^}]*}:intake:)')
  redis.call('DEL', k.contact)
  redis.call('ZREM', k.retention, a.person_id)
  redis.call('ZREM', P .. 'worklist', 'no_contact|' .. a.person_id)
  for _, purpose in ipairs({'training', 'sms', 'survey'}) do
    if redis.call('HGET', k.person, 'consent:' .. purpose) == 'given' then
      withdraw(k.person, k.fig_day, purpose, a.now_ms)
    end
  end
  redis.call('HSET', k.person, 'erased_ms', a.now_ms)
  return {'ok', 'person_id', a.person_id, 'status', 'erased'}
end)

-- give_consent: a consent given (again) after the referral, with its date
-- (consent:<purpose>:given_ms). The services read it where they use it: the
-- gateway when it sends, the survey when it opens a participation. Training
-- given again places nobody by itself: a new referral does.
command('give_consent', {keys = {'person'}, args = {'purpose', 'now_ms', 'person_id'}}, function(k, a)
  if redis.call('EXISTS', k.person) == 0 then
    return {'err', 'UNKNOWN_PERSON', 'person_id', 'Personne inconnue : vérifier l\'identifiant transmis.'}
  end
  local field = 'consent:' .. a.purpose
  if redis.call('HGET', k.person, field) == 'given' then
    return {'dup', 'person_id', a.person_id, 'status', 'given'}
  end
  redis.call('HSET', k.person, field, 'given', field .. ':given_ms', a.now_ms)
  return {'ok', 'person_id', a.person_id, 'status', 'given'}
end)

-- purge_contacts (a step of the leased timer, not a command): the personal
-- data whose retention date has passed is deleted (at most limit); the
-- pseudonymous record says when.
step('purge_contacts', {keys = {'retention'}, args = {'now_ms', 'limit', 'day'}}, function(k, a)
  local P = string.match(k.retention, '^(tp:{[^}]*}:intake:)')
  local due = redis.call('ZRANGEBYSCORE', k.retention, '-inf', a.now_ms, 'LIMIT', 0, tonumber(a.limit))
  for _, pid in ipairs(due) do
    redis.call('DEL', P .. 'contact:' .. pid)
    redis.call('ZREM', k.retention, pid)
    redis.call('HSET', P .. 'person:' .. pid, 'contact_purged_ms', a.now_ms)
  end
  if #due > 0 then fig_incr(P .. 'fig:' .. a.day, 'contacts_purged', #due) end
  return #due
end)
