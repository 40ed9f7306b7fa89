// Rate limiting per organization (spec 6.11): a token bucket refilled at `ratePerSecond` up to
// `burst`, kept in this process's memory so that taking a token costs no database round trip or
// commit. Every key of the organization draws from the same bucket; each server process has its own
// buckets, so N processes behind a load balancer let an organization through at up to N times the
// rate. Every authenticated response carries the X-RateLimit-* headers; a request over the limit
// answers 429 too_many_requests with Retry-After.

import type { FastifyInstance } from 'fastify';
import { DomainError } from '../errors.js';
import { rateLimitBucketsMax } from '../limits.js';

export interface RateLimit {
  /** Tokens added per second; 0 turns rate limiting off. */
  ratePerSecond: number;
  burst: number;
}

interface Bucket {
  tokens: number;
  refilledAtMs: number;
}

/** `nowMs` is a monotonic clock in milliseconds. */
export function registerRateLimit(
  scope: FastifyInstance,
  limit: RateLimit,
  nowMs: () => number = () => performance.now(),
): void {
  if (limit.ratePerSecond <= 0) return;
  const buckets = new TokenBuckets(limit);
  scope.addHook('preHandler', async (request, reply) => {
    const bucket = buckets.take(request.caller.organizationId, nowMs());
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

/**
 * One bucket per organization. Past rateLimitBucketsMax the least recently used bucket is
 * forgotten, and its organization starts again from a full bucket when it comes back.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly limit: RateLimit) {}

  /** Refills the organization's bucket for the time elapsed and takes one token if there is one. */
  take(organizationId: string, nowMs: number): { tokens: number; allowed: boolean } {
    const { burst, ratePerSecond } = this.limit;
    const bucket = this.buckets.get(organizationId) ?? { tokens: burst, refilledAtMs: nowMs };
    const elapsedSeconds = Math.max(0, nowMs - bucket.refilledAtMs) / 1000;
    bucket.tokens = Math.min(burst, bucket.tokens + elapsedSeconds * ratePerSecond);
    bucket.refilledAtMs = nowMs;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.buckets.delete(organizationId);
    this.buckets.set(organizationId, bucket);
    if (this.buckets.size > rateLimitBucketsMax) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    return { tokens: bucket.tokens, allowed };
  }
}
