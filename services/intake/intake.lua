-- intake: Redis functions of the intake service (appended to common/bus.lua).
-- Keys: tp:{T}:intake:*  — pseudonymous records (ref, referral, person), the
-- personal data apart (contact, with its retention date), figures (fig).

-- submit_referral
-- KEYS 1 ref:<branch>:<external_ref> (the business key)  2 referral:<rid>
--      3 person:<pid>  4 contact:<pid>  5 fig:<day>  6 fig:total  7 retention
-- ARGV 1 the referral as packed (its digest tells a retry from a conflict)
--      2 rid  3 pid  4 '1' when the person was already known  5 branch
--      6 external_ref  7 now_ms  8 retain_until_ms  9 mediator  10 partner
--      11 needs  12 answers  13 availability (space separated)
--      14 consent purposes  15 consent text version  16 consent given_at_ms
--      17 given_name  18 phone  19 line1  20 line2  21 postcode  22 city
--      23 birth_year  24 accessibility
command('submit_referral', function(keys, args)
  local digest = redis.sha1hex(args[1])
  local first = redis.call('HMGET', keys[1], 'digest', 'referral_id', 'person_id')
  if first[1] then
    if first[1] ~= digest then
      return {'err', 'CONFLICT', 'external_ref',
              'Cette référence a déjà été envoyée avec un contenu différent.'}
    end
    return {'dup', 'referral_id', first[2], 'person_id', first[3], 'status', 'accepted'}
  end
  local known = args[4] == '1'
  if known and redis.call('EXISTS', keys[3]) == 0 then
    return {'err', 'UNKNOWN_PERSON', 'person.person_id',
            'Personne inconnue : vérifier l\'identifiant transmis.'}
  end
  local rid, pid, now = args[2], args[3], args[7]
  if not known and redis.call('EXISTS', keys[3]) == 1 then -- ids are derived: never overwrite someone
    return {'err', 'CONFLICT', 'person', 'Identifiant déjà attribué : renvoyer avec un nouvel identifiant de message.'}
  end

  redis.call('HSET', keys[1], 'digest', digest, 'referral_id', rid, 'person_id', pid)
  redis.call('HSET', keys[2], 'branch', args[5], 'external_ref', args[6], 'person_id', pid,
             'mediator', args[9], 'partner', args[10], 'needs', args[11], 'answers', args[12],
             'availability', args[13], 'created_ms', now, 'status', 'accepted')
  if not known then
    redis.call('HSET', keys[3], 'created_ms', now, 'first_branch', args[5], 'first_referral', rid)
  end
  redis.call('HINCRBY', keys[3], 'referrals', 1)
  redis.call('HSET', keys[3], 'availability', args[13], 'last_referral', rid)
  -- consent: recorded per purpose, with the text version and when
  redis.call('HSET', keys[3], 'consent_version', args[15], 'consent_at', args[16])
  for _, p in ipairs(words(args[14])) do
    redis.call('HSET', keys[3], 'consent:' .. p, 'given')
  end

  -- personal data, apart, with its retention date; only what was sent
  local contact = {'retain_until_ms', args[8]}
  local fields = {'given_name', 'phone', 'line1', 'line2', 'postcode', 'city', 'birth_year', 'accessibility'}
  for i, f in ipairs(fields) do
    local v = args[16 + i]
    if v ~= '' then contact[#contact + 1] = f; contact[#contact + 1] = v end
  end
  redis.call('HSET', keys[4], unpack(contact))
  redis.call('ZADD', keys[7], args[8], pid)

  -- figures: ids and counts only
  redis.call('HINCRBY', keys[5], 'referrals', 1)
  redis.call('HINCRBY', keys[5], 'referrals:' .. args[5], 1)
  redis.call('HINCRBY', keys[6], 'referrals', 1)
  if not known then
    redis.call('HINCRBY', keys[5], 'people_new', 1)
    redis.call('HINCRBY', keys[6], 'people', 1)
  end
  for _, n in ipairs(words(args[11])) do
    redis.call('HINCRBY', keys[5], 'need:' .. n, 1)
  end
  return {'ok', 'referral_id', rid, 'person_id', pid, 'status', 'accepted'}
end)

-- no_consent: a referral refused for want of consent is not stored, but
-- counted once per (branch, external_ref) for the figures.
-- KEYS 1 noconsent:<day>:<branch> (digests seen)  2 fig:<day>  3 fig:total
--      4 noconsent:<the day before>:<branch> (a retry across midnight)
-- ARGV 1 branch  2 external_ref  3 field  4 message (the answer, from the checks)
command('no_consent', function(keys, args)
  local digest = redis.sha1hex(args[2])
  if redis.call('SISMEMBER', keys[4], digest) == 0 and redis.call('SADD', keys[1], digest) == 1 then
    redis.call('EXPIRE', keys[1], 172800) -- the dedupe set outlives any retry
    redis.call('HINCRBY', keys[2], 'no_consent', 1)
    redis.call('HINCRBY', keys[2], 'no_consent:' .. args[1], 1)
    redis.call('HINCRBY', keys[3], 'no_consent', 1)
  end
  return {'err', 'CONSENT_REQUIRED', args[3], args[4]}
end)

-- withdraw_consent: no more SMS or surveys (or training) for that purpose.
-- KEYS 1 person:<pid>  2 fig:<day>   ARGV 1 purpose  2 now_ms  3 pid
command('withdraw_consent', function(keys, args)
  if redis.call('EXISTS', keys[1]) == 0 then
    return {'err', 'UNKNOWN_PERSON', 'person_id', 'Personne inconnue : vérifier l\'identifiant transmis.'}
  end
  local field = 'consent:' .. args[1]
  if redis.call('HGET', keys[1], field) ~= 'withdrawn' then
    redis.call('HSET', keys[1], field, 'withdrawn', field .. ':withdrawn_ms', args[2])
    redis.call('HINCRBY', keys[2], 'consent_withdrawn:' .. args[1], 1)
  end
  return {'ok', 'person_id', args[3], 'status', 'withdrawn'}
end)

-- purge_contacts: the personal data whose retention date has passed is
-- deleted; the pseudonymous record says when. (Not a command: the leased
-- timer runs it.) KEYS 1 retention  ARGV 1 now_ms  2 limit  3 day
redis.register_function(LIB .. '_purge_contacts', function(keys, args)
  local P = string.match(keys[1], '^(tp:{[^}]*}:intake:)')
  local due = redis.call('ZRANGEBYSCORE', keys[1], '-inf', args[1], 'LIMIT', 0, tonumber(args[2]))
  for _, pid in ipairs(due) do
    redis.call('DEL', P .. 'contact:' .. pid)
    redis.call('ZREM', keys[1], pid)
    redis.call('HSET', P .. 'person:' .. pid, 'contact_purged_ms', args[1])
  end
  if #due > 0 then redis.call('HINCRBY', P .. 'fig:' .. args[3], 'contacts_purged', #due) end
  return #due
end)
