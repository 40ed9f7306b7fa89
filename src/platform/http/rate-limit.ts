// Rate limiting per organization (spec 6.11): a token bucket refilled at `ratePerSecond` up to
// `burst`, kept in PostgreSQL so that every key of the organization and every server process draw
// from the same bucket. Every authenticated response carries the X-RateLimit-* headers; a request
// over the limit answers 429 too_many_requests with Retry-After.

import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { assert } from '../assert.js';
import type { Database } from '../db/database.js';
import { DomainError } from '../errors.js';

export interface RateLimit {
  /** Tokens added per second; 0 turns rate limiting off. */
  ratePerSecond: number;
  burst: number;
}

interface Bucket {
  tokens: number;
  allowed: boolean;
}

export function registerRateLimit(scope: FastifyInstance, db: Database, limit: RateLimit): void {
  if (limit.ratePerSecond <= 0) return;
  scope.addHook('preHandler', async (request, reply) => {
    const bucket = await takeToken(db, request.caller.organizationId, limit);
    const secondsToFull = (limit.burst - bucket.tokens) / limit.ratePerSecond;
    reply.header('X-RateLimit-Limit', String(limit.burst));
    reply.header('X-RateLimit-Remaining', String(Math.max(0, Math.floor(bucket.tokens))));
    reply.header('X-RateLimit-Reset', String(Math.ceil(Date.now() / 1000 + secondsToFull)));
    if (!bucket.allowed) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / limit.ratePerSecond));
      reply.header('Retry-After', String(retryAfter));
      throw new DomainError(
        'too_many_requests',
        `rate limit of ${limit.ratePerSecond}/s (burst ${limit.burst}) exceeded`,
      );
    }
  });
}

/** Refills the bucket for the time elapsed and takes one token if there is one, in one statement. */
async function takeToken(
  db: Database,
  organizationId: string,
  { ratePerSecond, burst }: RateLimit,
): Promise<Bucket> {
  const refilled = sql`least(${burst}::float8, b.tokens + ${ratePerSecond}::float8 * extract(epoch from excluded.refilled_at - b.refilled_at))`;
  const result = await sql<Bucket>`
    insert into rate_limit_buckets as b (organization_id, tokens, refilled_at, allowed)
    values (${organizationId}, ${burst - 1}::float8, clock_timestamp(), true)
    on conflict (organization_id) do update set
      tokens = ${refilled} - case when ${refilled} >= 1 then 1 else 0 end,
      allowed = ${refilled} >= 1,
      refilled_at = excluded.refilled_at
    returning tokens, allowed`.execute(db);
  const [bucket] = result.rows;
  assert(bucket !== undefined, 'rate limit bucket was not returned');
  return bucket;
}
