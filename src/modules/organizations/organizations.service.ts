import { createHash } from 'node:crypto';
import { apiKeyPattern } from '../../config.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { DomainError, invalidField, notFound } from '../../platform/errors.js';
import type { Caller } from '../../platform/http/auth.js';
import { newApiKeySecret, newId } from '../../platform/ids.js';
import { organizationNameLengthMax } from '../../platform/limits.js';
import { TtlCache } from '../../platform/ttl-cache.js';
import * as store from './organizations.store.js';

export const defaultOrganizationName = 'default';

/** Keys carry 256 bits of entropy, so one SHA-256 is enough; nothing can be guessed from the hash. */
function hashKey(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/**
 * Valid keys by their hash, read at most readCacheTtlMs ago: a key revoked by another process (the
 * CLI, another server) stops authenticating within that bound; one revoked here, at once. Unknown
 * keys are never cached, so a key created anywhere works on its first request.
 */
const callers = new TtlCache<Caller>();

export async function authenticate(db: Database, secret: string, now: Date): Promise<Caller | undefined> {
  if (!apiKeyPattern.test(secret)) return undefined;
  const keyHash = hashKey(secret);
  const cacheKey = keyHash.toString('base64');
  const cached = callers.get(cacheKey, now.getTime());
  if (cached !== undefined) return cached;
  const row = await store.findCallerByKeyHash(db, keyHash);
  if (row === undefined) return undefined;
  const caller = { organizationId: row.organization_id, apiKeyId: row.id };
  callers.set(cacheKey, caller, now.getTime());
  return caller;
}

export interface CreatedKey {
  organizationId: string;
  organizationName: string;
  apiKeyId: string;
  secret: string;
}

/** Creates the organization if needed, and a new key for it. */
export async function createApiKey(
  db: Database,
  organizationName: string,
  secret = newApiKeySecret(),
): Promise<CreatedKey> {
  const name = organizationName.trim();
  if (name.length < 1 || name.length > organizationNameLengthMax) {
    throw invalidField('org', `must be 1-${organizationNameLengthMax} characters`);
  }
  return withTransaction(db, async (trx) => {
    await store.insertOrganizationIfAbsent(trx, newId(), name);
    const organization = await store.findOrganizationByName(trx, name);
    if (organization === undefined)
      throw new DomainError('conflict', `organization ${name} could not be created`);
    const apiKeyId = newId();
    await store.insertApiKey(trx, {
      organization_id: organization.id,
      id: apiKeyId,
      key_hash: hashKey(secret),
      key_prefix: secret.slice(0, 10),
    });
    return { organizationId: organization.id, organizationName: name, apiKeyId, secret };
  });
}

/** Every key (never its secret), oldest first; only one organization's when its name is given. */
export async function listApiKeys(db: Database, organizationName?: string) {
  if (organizationName === undefined) return store.listApiKeys(db, undefined);
  const organization = await store.findOrganizationByName(db, organizationName.trim());
  if (organization === undefined) throw notFound(`organization "${organizationName}"`);
  return store.listApiKeys(db, organization.id);
}

/** Each organization's name by its id. */
export async function readOrganizationNames(db: Database): Promise<Map<string, string>> {
  return new Map((await store.listOrganizations(db)).map((row) => [row.id, row.name]));
}

export async function revokeApiKey(db: Database, id: string): Promise<void> {
  if (!(await store.revokeApiKey(db, id))) throw new DomainError('not_found', `no active API key ${id}`);
  callers.forget((caller) => caller.apiKeyId === id);
}

/**
 * At start: a configured key must belong to an organization; with none configured and no key at
 * all, the first start creates one and returns it so it can be printed once.
 */
export async function ensureStartupKey(
  db: Database,
  configuredKey: string | undefined,
): Promise<CreatedKey | undefined> {
  if (configuredKey !== undefined) {
    if (!(await store.keyHashExists(db, hashKey(configuredKey)))) {
      await createApiKey(db, defaultOrganizationName, configuredKey);
    }
    return undefined;
  }
  if ((await store.countApiKeys(db)) > 0) return undefined;
  return createApiKey(db, defaultOrganizationName);
}
