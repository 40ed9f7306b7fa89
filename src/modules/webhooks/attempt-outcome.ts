// What an attempt's answer means for its delivery and its endpoint. Pure: no I/O, the clock passed in.
import { webhookRetryAfterMaxMs } from '../../platform/limits.js';
import type { WebhookResponse } from './http-sender.js';
import type { AttemptRecord, DeliveryRow, EndpointOutcome } from './webhooks.store.js';

/** The delivery's new state after one attempt, and how the attempt counts for its endpoint. */
export interface AttemptOutcome extends AttemptRecord {
  /** A 429 neither opens nor closes the circuit: the receiver is up and asked for a pause. */
  verdict: 'success' | 'failure' | 'rate_limited';
  /** A 429: no delivery of the endpoint is attempted before this. */
  rate_limited_until: Date | null;
}

type Attempted = Pick<
  DeliveryRow,
  'organization_id' | 'id' | 'webhook_endpoint_id' | 'attempt_count' | 'max_attempts'
>;

export function decideOutcome(
  delivery: Attempted,
  response: WebhookResponse,
  now: Date,
  retryDelayMs: number,
): AttemptOutcome {
  const succeeded = response.status !== null && response.status >= 200 && response.status < 300;
  const attempts = delivery.attempt_count + 1;
  const exhausted = !succeeded && attempts >= delivery.max_attempts;
  const pauseMs = response.status === 429 ? (retryAfterMs(response.retryAfter, now) ?? retryDelayMs) : null;
  const waitMs = Math.max(retryDelayMs, pauseMs ?? 0);
  return {
    organization_id: delivery.organization_id,
    id: delivery.id,
    webhook_endpoint_id: delivery.webhook_endpoint_id,
    status: succeeded ? 'DELIVERED' : exhausted ? 'FAILED' : 'PENDING',
    attempt_count: attempts,
    next_attempt_at: succeeded || exhausted ? null : new Date(now.getTime() + waitMs),
    last_attempt_at: now,
    last_response_status: response.status,
    last_response_body: response.body,
    last_error: response.error,
    error_code: response.errorCode,
    delivered_at: succeeded ? now : null,
    verdict: succeeded ? 'success' : pauseMs === null ? 'failure' : 'rate_limited',
    rate_limited_until: pauseMs === null ? null : new Date(now.getTime() + pauseMs),
  };
}

/**
 * Retry-After as delay-seconds or an HTTP date, at most `webhookRetryAfterMaxMs` ahead; null when
 * absent or unreadable.
 */
export function retryAfterMs(value: string | null, now: Date): number | null {
  if (value === null) return null;
  const text = value.trim();
  const isDate = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text);
  const ms = /^\d+$/.test(text)
    ? Number(text) * 1000
    : isDate
      ? Date.parse(text) - now.getTime()
      : Number.NaN;
  if (Number.isNaN(ms)) return null;
  return Math.min(Math.max(ms, 0), webhookRetryAfterMaxMs);
}

export function summarizeEndpoints(outcomes: AttemptOutcome[]): EndpointOutcome[] {
  const byEndpoint = new Map<string, EndpointOutcome>();
  for (const outcome of outcomes) {
    const key = `${outcome.organization_id}/${outcome.webhook_endpoint_id}`;
    const summary = byEndpoint.get(key) ?? {
      organization_id: outcome.organization_id,
      id: outcome.webhook_endpoint_id,
      reset: false,
      failures: 0,
      rate_limited_until: null,
    };
    if (outcome.verdict === 'success') {
      summary.reset = true;
      summary.failures = 0;
    } else if (outcome.verdict === 'failure') summary.failures += 1;
    const until = outcome.rate_limited_until;
    if (until !== null && (summary.rate_limited_until === null || until > summary.rate_limited_until)) {
      summary.rate_limited_until = until;
    }
    byEndpoint.set(key, summary);
  }
  return [...byEndpoint.values()];
}
