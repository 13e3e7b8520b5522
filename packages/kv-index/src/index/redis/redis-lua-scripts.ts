/**
 * The server-side scripts. Every write runs as one script so that it is atomic against the other
 * replicas writing the same Redis: a store, a removal or a clear is never seen half done, and the
 * counters always move together with the entries they count. Layout and value formats are described
 * in README.md.
 */

const sharedFunctions = `
local function split(text, separator)
  local parts = {}
  local start = 1
  while true do
    local found = string.find(text, separator, start, true)
    if not found then
      parts[#parts + 1] = string.sub(text, start)
      return parts
    end
    parts[#parts + 1] = string.sub(text, start, found - 1)
    start = found + 1
  end
end

local function contains(list, value)
  for _, item in ipairs(list) do
    if item == value then return true end
  end
  return false
end

-- '<generation>' for a confirmed entry, '<generation>:<expiresAt>' for a speculative one.
local function parseEntry(value)
  local colon = string.find(value, ':', 1, true)
  if colon then
    return string.sub(value, 1, colon - 1), tonumber(string.sub(value, colon + 1))
  end
  return value, nil
end

-- Readers take a missing endpoint generation as 0, which no entry ever carries (see
-- ensureGeneration): losing the generation hash, e.g. to maxmemory eviction, clears the endpoint
-- instead of resurrecting entries an earlier clear retired.
local function currentGeneration(generationKey, rankField)
  local values = redis.call('HMGET', generationKey, '*', rankField)
  return (values[1] or '0') .. '.' .. (values[2] or '0')
end
`;

/** Writers start an endpoint at a generation taken from the server clock (microseconds). */
const ensureGenerationFunction = `
local function ensureGeneration(generationKey, rankField)
  local values = redis.call('HMGET', generationKey, '*', rankField)
  local endpointGeneration = values[1]
  if not endpointGeneration then
    local time = redis.call('TIME')
    endpointGeneration = time[1] .. string.format('%06d', tonumber(time[2]))
    redis.call('HSET', generationKey, '*', endpointGeneration)
  end
  return endpointGeneration .. '.' .. (values[2] or '0')
end
`;

/** Redis 5 and 6 need effects replication before a write that follows TIME; newer servers always use it. */
const effectsReplication = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
`;

/**
 * KEYS: generation hash, counter hash, endpoint set, holder set, engine map, then one request-key
 * hash per block. ARGV: endpoint key, holder member, rank field, entry field, tier, counter field,
 * expiresAt ('' when confirmed), block count n, n decimal request keys, then n decimal engine keys
 * (absent when there are none). Returns the number of newly confirmed entries.
 */
export const storeBlocksLua = `${effectsReplication}${sharedFunctions}${ensureGenerationFunction}
-- An engine key maps to a few request keys at most (engine blocks a small multiple of ours); the
-- cap only guards against unbounded growth if an engine ever reused keys.
local maximumRequestKeysPerEngineKey = 16
local generation = ensureGeneration(KEYS[1], ARGV[3])
local field = ARGV[4]
local tier = ARGV[5]
local expiresAt = ARGV[7]
local count = tonumber(ARGV[8])
local hasEngineKeys = #ARGV >= 8 + 2 * count
local added = 0
for index = 1, count do
  local requestKeyName = KEYS[5 + index]
  local previous = redis.call('HGET', requestKeyName, field)
  local previousGeneration, previousExpiry = nil, nil
  if previous then previousGeneration, previousExpiry = parseEntry(previous) end
  local isCurrent = previousGeneration == generation
  if expiresAt == '' then
    -- A real store confirms a speculative entry and replaces one of an older generation.
    if not (isCurrent and previousExpiry == nil) then
      redis.call('HSET', requestKeyName, field, generation)
      added = added + 1
    end
  elseif not isCurrent then
    redis.call('HSET', requestKeyName, field, generation .. ':' .. expiresAt)
  elseif previousExpiry ~= nil and previousExpiry < tonumber(expiresAt) then
    redis.call('HSET', requestKeyName, field, generation .. ':' .. expiresAt)
  end
  -- (A speculative store never downgrades a confirmed entry of the current generation.)
  if hasEngineKeys then
    local requestKey = ARGV[8 + index]
    local engineKey = ARGV[8 + count + index]
    local tiers = { tier }
    local requestKeys = { requestKey }
    local mapping = redis.call('HGET', KEYS[5], engineKey)
    if mapping then
      local parts = split(mapping, '|')
      if parts[1] == generation and parts[3] then
        tiers = split(parts[2], ',')
        requestKeys = split(parts[3], ',')
        if not contains(tiers, tier) then tiers[#tiers + 1] = tier end
        if not contains(requestKeys, requestKey) then
          requestKeys[#requestKeys + 1] = requestKey
          if #requestKeys > maximumRequestKeysPerEngineKey then table.remove(requestKeys, 1) end
        end
      end
    end
    redis.call('HSET', KEYS[5], engineKey,
      generation .. '|' .. table.concat(tiers, ',') .. '|' .. table.concat(requestKeys, ','))
  end
end
if added > 0 then redis.call('HINCRBY', KEYS[2], ARGV[6], added) end
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[2])
return added
`;

/**
 * KEYS: generation hash, counter hash, engine map. ARGV: rank field, entry field, tier, counter
 * field, request-key hash prefix, then the decimal engine keys. Returns the number of confirmed
 * entries removed.
 */
export const removeBlocksLua = `${sharedFunctions}
local generation = currentGeneration(KEYS[1], ARGV[1])
local field = ARGV[2]
local tier = ARGV[3]
local removed = 0
for index = 6, #ARGV do
  local engineKey = ARGV[index]
  local mapping = redis.call('HGET', KEYS[3], engineKey)
  if mapping then
    local parts = split(mapping, '|')
    if parts[1] ~= generation or not parts[3] then
      -- Written before a clear: it no longer exists for anyone, drop it now that we met it.
      redis.call('HDEL', KEYS[3], engineKey)
    else
      for _, requestKey in ipairs(split(parts[3], ',')) do
        local requestKeyName = ARGV[5] .. requestKey
        local previous = redis.call('HGET', requestKeyName, field)
        if previous then
          redis.call('HDEL', requestKeyName, field)
          local previousGeneration, previousExpiry = parseEntry(previous)
          if previousGeneration == generation and previousExpiry == nil then removed = removed + 1 end
        end
      end
      local remaining = {}
      for _, heldTier in ipairs(split(parts[2], ',')) do
        if heldTier ~= tier and heldTier ~= '' then remaining[#remaining + 1] = heldTier end
      end
      -- The mapping survives while the holder keeps the block in another tier (CPU after GPU eviction).
      if #remaining == 0 then
        redis.call('HDEL', KEYS[3], engineKey)
      else
        redis.call('HSET', KEYS[3], engineKey, generation .. '|' .. table.concat(remaining, ',') .. '|' .. parts[3])
      end
    end
  end
end
if removed > 0 then
  -- Clamped at zero: the counter is dropped rather than allowed to go negative.
  local remainingCount = (tonumber(redis.call('HGET', KEYS[2], ARGV[4])) or 0) - removed
  if remainingCount > 0 then
    redis.call('HSET', KEYS[2], ARGV[4], remainingCount)
  else
    redis.call('HDEL', KEYS[2], ARGV[4])
  end
end
return removed
`;

/**
 * KEYS: generation hash, counter hash, holder set, endpoint set. ARGV: endpoint key, rank field
 * ('' for every rank), engine-map key prefix of the endpoint. Bumping the generation makes every
 * entry of the endpoint (or rank) read as absent without touching it; only the endpoint's own small
 * keys are visited, never the index. Returns the number of engine maps dropped.
 */
export const clearEndpointLua = `
local rank = ARGV[2]
local dropped = 0
if rank == '' then
  -- Without a generation the endpoint holds nothing (see ensureGeneration): nothing to retire.
  if redis.call('HEXISTS', KEYS[1], '*') == 1 then redis.call('HINCRBY', KEYS[1], '*', 1) end
  for _, member in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    -- UNLINK frees a large engine map in the background instead of blocking Redis.
    dropped = dropped + redis.call('UNLINK', ARGV[3] .. member)
  end
  redis.call('DEL', KEYS[2], KEYS[3])
  redis.call('SREM', KEYS[4], ARGV[1])
else
  redis.call('HINCRBY', KEYS[1], rank, 1)
  local prefix = rank .. '|'
  for _, member in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    if string.sub(member, 1, #prefix) == prefix then
      dropped = dropped + redis.call('UNLINK', ARGV[3] .. member)
      redis.call('SREM', KEYS[3], member)
    end
  end
  for _, counter in ipairs(redis.call('HKEYS', KEYS[2])) do
    if string.sub(counter, 1, #prefix) == prefix then redis.call('HDEL', KEYS[2], counter) end
  end
end
return dropped
`;

/**
 * Lazy cleanup of entries found stale (old generation) or expired. KEYS: hashes; ARGV: field and
 * observed value per key. A field is deleted only if it still holds the observed value, so an entry
 * another replica rewrote in the meantime survives. Returns the number of fields deleted.
 */
export const deleteIfUnchangedLua = `
local deleted = 0
for index = 1, #KEYS do
  local field = ARGV[index * 2 - 1]
  if redis.call('HGET', KEYS[index], field) == ARGV[index * 2] then
    deleted = deleted + redis.call('HDEL', KEYS[index], field)
  end
end
return deleted
`;
