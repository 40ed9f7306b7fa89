// Idempotent writes (spec 3.3): the first request with a key stores its request hash and response in
// the same transaction as its effect. The insert of the key row is the serialization point: a
// concurrent request with the same key waits on the unique key, then replays the stored response
// (same hash) or answers 409 idempotency_conflict (different hash). A failed request stores nothing.
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import { DomainError } from '../../platform/errors.js';

export interface IdempotencyKey {
  organizationId: string;
  /** Keys are scoped per program. */
  scopeId: string;
  key: string;
  /** SHA-256 of the request's semantic fields, normalized (see requestHash). */
  requestHash: string;
}

/** JSON with sorted keys and no undefined values, so key order never counts as a difference. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function requestHash(semantic: unknown): string {
  return createHash('sha256').update(canonicalJson(semantic)).digest('hex');
}

export interface Replayed<T> {
  replayed: boolean;
  response: T;
}

export async function runIdempotent<T>(
  trx: Database,
  key: IdempotencyKey | undefined,
  now: Date,
  work: () => Promise<T>,
): Promise<Replayed<T>> {
  if (key === undefined) return { replayed: false, response: await work() };
  const inserted = await sql`insert into idempotency_records
      (organization_id, scope_id, idempotency_key, request_hash, created_at)
    values (${key.organizationId}, ${key.scopeId}, ${key.key}, ${key.requestHash}, ${now})
    on conflict do nothing returning idempotency_key`.execute(trx);
  if (inserted.rows.length === 0) {
    const stored = await sql<{ request_hash: string; response_body: T }>`select request_hash, response_body
      from idempotency_records where organization_id = ${key.organizationId} and scope_id = ${key.scopeId}
        and idempotency_key = ${key.key}`.execute(trx);
    const row = stored.rows[0];
    if (row === undefined) throw new DomainError('conflict', 'idempotency key changed concurrently; retry');
    if (row.request_hash !== key.requestHash) {
      throw new DomainError(
        'idempotency_conflict',
        'this idempotency_key was used with a different request',
        {
          field: 'idempotency_key',
          reason: 'idempotency_conflict',
        },
      );
    }
    return { replayed: true, response: row.response_body };
  }
  const response = await work();
  await sql`update idempotency_records set response_status = 200, response_body = ${JSON.stringify(response)}::jsonb
    where organization_id = ${key.organizationId} and scope_id = ${key.scopeId}
      and idempotency_key = ${key.key}`.execute(trx);
  return { replayed: false, response };
}
