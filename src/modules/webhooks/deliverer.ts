// The deliverer: fans outbox rows out to one delivery per subscribed ACTIVE endpoint, claims due
// deliveries with SKIP LOCKED (so any number of processes share the work), POSTs them signed with the
// endpoint's current secret, and records the outcome. At least once: a process that dies between the
// POST and its record leaves the delivery SENDING until its claim lapses, and it is sent again with
// the same webhook-id. Attempts run concurrently over kept-alive connections, and the outcomes of
// the attempts that ended meanwhile are recorded together, in one statement, while the next claim is
// made; one slow receiver holds only its own slots.
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction } from '../../platform/db/transaction.js';
import {
  jobBatchSizeMax,
  webhookBreakerFailuresMax,
  webhookConcurrencyMax,
  webhookFanOutBatchMax,
  webhookInFlightPerEndpointMax,
  webhookTimeoutMs,
} from '../../platform/limits.js';
import type { Logger } from '../../platform/logger.js';
import { webhookDeliveryAttempts } from '../../platform/metrics.js';
import { type AttemptOutcome, decideOutcome, summarizeEndpoints } from './attempt-outcome.js';
import { ConnectionPool, sendWebhook, type WebhookResponse } from './http-sender.js';
import { checkEndpointUrl } from './url-safety.js';
import { decryptSecret, signWebhook } from './webhook-secrets.js';
import { newDelivery, type WebhookSettings } from './webhooks.service.js';
import * as store from './webhooks.store.js';

export const webhookApiVersion = '2026-03-01';

export interface DelivererDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
  settings: WebhookSettings;
  retryBaseMs: number;
  circuitBreakMs: number;
  outboxRetentionMs: number;
  timeoutMs?: number;
  pollIntervalMs?: number;
}

export interface WebhookDeliverer {
  stop(): Promise<void>;
}

const pruneEveryMs = 60_000;

/**
 * Runs until stopped: every poll, and again as soon as an attempt ends, it records the attempts that
 * ended since the last round (one statement), fans the outbox out and fills the free delivery slots,
 * the three side by side, so a fast receiver is fed without waiting for the next poll or the record. A slot is
 * taken from the claim to the end of its attempt; until recorded, the delivery stays SENDING under
 * its claim, so no deliverer claims it again.
 */
export function startWebhookDeliverer(deps: DelivererDeps): WebhookDeliverer {
  const pool = new ConnectionPool();
  const inFlight = new InFlight();
  const ended: AttemptOutcome[] = [];
  let stopped = false;
  let queued = false;
  let lastPruneMs = 0;
  let running: Promise<void> = Promise.resolve();
  const fanOut = async () => {
    const fanned = await fanOutOutbox(deps.db, deps.clock());
    if (Date.now() - lastPruneMs > pruneEveryMs) {
      lastPruneMs = Date.now();
      await pruneDeliveredOutbox(deps.db, deps.clock(), deps.outboxRetentionMs);
    }
    // The new deliveries are claimed by the next round, at once rather than at the next poll.
    if (fanned > 0) queueMicrotask(kick);
  };
  const claim = async () => {
    const free = webhookConcurrencyMax - inFlight.size;
    if (free <= 0) return;
    for (const claimed of await claimDeliveries(deps, free, inFlight.byEndpoint)) {
      inFlight.take(claimed.webhook_endpoint_id);
      inFlight.track(
        attemptLogged(deps, pool, claimed).then((outcome) => {
          inFlight.release(claimed.webhook_endpoint_id);
          if (outcome !== undefined) ended.push(outcome);
          kick();
        }),
      );
    }
  };
  // The record, the fan-out and the claim touch different rows: they run side by side.
  const tick = async () => {
    const results = await Promise.allSettled([recordEnded(deps, ended.splice(0)), fanOut(), claim()]);
    for (const result of results) {
      if (result.status === 'rejected')
        deps.logger.warn({ err: result.reason }, 'webhook deliverer tick failed');
    }
  };
  const kick = () => {
    if (stopped || queued) return;
    queued = true;
    running = running.then(async () => {
      queued = false;
      if (!stopped) await tick();
    });
  };
  const timer = setInterval(kick, deps.pollIntervalMs ?? 200);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      await inFlight.settled();
      await recordEnded(deps, ended.splice(0));
      pool.close();
    },
  };
}

/** Attempts under way in this process, counted per endpoint. */
class InFlight {
  readonly byEndpoint = new Map<string, number>();
  private taken = 0;
  private readonly attempts = new Set<Promise<void>>();

  get size(): number {
    return this.taken;
  }

  take(endpointId: string): void {
    this.taken += 1;
    this.byEndpoint.set(endpointId, (this.byEndpoint.get(endpointId) ?? 0) + 1);
  }

  release(endpointId: string): void {
    this.taken -= 1;
    const left = (this.byEndpoint.get(endpointId) ?? 1) - 1;
    if (left === 0) this.byEndpoint.delete(endpointId);
    else this.byEndpoint.set(endpointId, left);
  }

  track(attempt: Promise<void>): void {
    this.attempts.add(attempt);
    void attempt.then(() => this.attempts.delete(attempt));
  }

  async settled(): Promise<void> {
    await Promise.all(this.attempts);
  }
}

/**
 * Records ended attempts. If a batch fails, each is tried alone, so one bad row does not hold back
 * the others; a delivery whose record fails stays SENDING until its claim lapses and is sent again
 * then: at least once.
 */
async function recordEnded(deps: DelivererDeps, outcomes: AttemptOutcome[]): Promise<void> {
  try {
    await recordOutcomes(deps, outcomes);
    return;
  } catch (error) {
    if (outcomes.length === 1) {
      deps.logger.error({ err: error, delivery_id: outcomes[0]?.id }, 'webhook attempt failed to record');
      return;
    }
  }
  for (const outcome of outcomes) await recordEnded(deps, [outcome]);
}

/** An attempt that cannot even be made (a secret that does not decrypt) is logged and left SENDING. */
function attemptLogged(
  deps: DelivererDeps,
  pool: ConnectionPool,
  claimed: store.ClaimedDelivery,
): Promise<AttemptOutcome | undefined> {
  return attemptDelivery(deps, pool, claimed).catch((error) => {
    deps.logger.error({ err: error, delivery_id: claimed.id }, 'webhook attempt failed');
    return undefined;
  });
}

/** One round, awaited: fan out, then claim, attempt and record every due delivery. For tests and tools. */
export async function deliverDueWebhooks(deps: DelivererDeps): Promise<number> {
  await fanOutOutbox(deps.db, deps.clock());
  const claimed = await claimDeliveries(deps, webhookConcurrencyMax, new Map());
  const pool = new ConnectionPool();
  try {
    const outcomes = await Promise.all(claimed.map((delivery) => attemptDelivery(deps, pool, delivery)));
    await recordOutcomes(deps, outcomes);
  } finally {
    pool.close();
  }
  return claimed.length;
}

/** Envelopes from undelivered outbox rows, one delivery per subscribed ACTIVE endpoint. */
export async function fanOutOutbox(db: Database, now: Date): Promise<number> {
  return withTransaction(db, async (trx) => {
    const rows = await store.claimOutbox(trx, webhookFanOutBatchMax);
    if (rows.length === 0) return 0;
    const endpoints = await store.listSubscribedEndpoints(trx, [
      ...new Set(rows.map((row) => row.organization_id)),
    ]);
    const deliveries = rows.flatMap((row) =>
      endpoints
        .filter((endpoint) => endpoint.organization_id === row.organization_id)
        .filter((endpoint) => endpoint.enabled_events.some((type) => type === '*' || type === row.topic))
        .map((endpoint) =>
          newDelivery(
            {
              organization_id: row.organization_id,
              webhook_endpoint_id: endpoint.id,
              webhook_event_id: row.id,
              event_type: row.topic,
              payload: toEnvelope(row),
            },
            now,
          ),
        ),
    );
    await store.insertDeliveries(trx, deliveries);
    await store.markOutboxDelivered(trx, rows, now);
    return rows.length;
  });
}

function toEnvelope(row: store.OutboxRow) {
  return {
    id: row.id,
    type: row.topic,
    api_version: webhookApiVersion,
    created_at: row.created_at.toISOString(),
    organization_id: row.organization_id,
    data: row.payload,
  };
}

export async function pruneDeliveredOutbox(db: Database, now: Date, retentionMs: number): Promise<number> {
  return store.pruneOutbox(db, new Date(now.getTime() - retentionMs), jobBatchSizeMax);
}

function claimDeliveries(deps: DelivererDeps, limit: number, inFlightByEndpoint: Map<string, number>) {
  const now = deps.clock();
  // The claim outlives the longest attempt, so a live sender's delivery is never taken twice.
  const leaseUntil = new Date(now.getTime() + (deps.timeoutMs ?? webhookTimeoutMs) + 5_000);
  return store.claimDueDeliveries(deps.db, {
    now,
    leaseUntil,
    limit,
    perEndpointMax: webhookInFlightPerEndpointMax,
    inFlightByEndpoint,
  });
}

async function attemptDelivery(
  deps: DelivererDeps,
  pool: ConnectionPool,
  delivery: store.ClaimedDelivery,
): Promise<AttemptOutcome> {
  const response = await post(deps, pool, delivery);
  const retryDelayMs = backoffMs(deps.retryBaseMs, delivery.attempt_count + 1);
  return decideOutcome(delivery, response, deps.clock(), retryDelayMs);
}

function attemptMetricOf(outcome: AttemptOutcome): 'delivered' | 'failed' | 'retrying' {
  if (outcome.status === 'DELIVERED') return 'delivered';
  return outcome.status === 'FAILED' ? 'failed' : 'retrying';
}

/** A batch of ended attempts, deliveries and endpoints, in one statement. */
async function recordOutcomes(deps: DelivererDeps, outcomes: AttemptOutcome[]): Promise<void> {
  if (outcomes.length === 0) return;
  const now = deps.clock();
  await store.recordAttempts(deps.db, {
    now,
    attempts: outcomes,
    endpoints: summarizeEndpoints(outcomes),
    openCircuitAfter: webhookBreakerFailuresMax,
    circuitOpenUntil: new Date(now.getTime() + deps.circuitBreakMs),
  });
  for (const outcome of outcomes) webhookDeliveryAttempts.inc({ outcome: attemptMetricOf(outcome) });
}

/** Exponential: base, 2 x base, 4 x base, ... each within +-25% so that retries do not bunch up. */
export function backoffMs(baseMs: number, attempts: number): number {
  return Math.round(baseMs * 2 ** (attempts - 1) * (0.75 + Math.random() * 0.5));
}

/** The URL is checked again at every attempt: DNS may have changed since the endpoint was made. */
async function post(
  deps: DelivererDeps,
  pool: ConnectionPool,
  delivery: store.ClaimedDelivery,
): Promise<WebhookResponse> {
  let checked: Awaited<ReturnType<typeof checkEndpointUrl>>;
  try {
    checked = await checkEndpointUrl(delivery.url, deps.settings.urlPolicy);
  } catch (error) {
    const message = (error as Error).message;
    return { status: null, body: null, retryAfter: null, error: message, errorCode: 'url_refused' };
  }
  const secret = decryptSecret(
    deps.settings.secretKey,
    delivery.secret_ciphertext,
    delivery.webhook_endpoint_id,
  );
  const body = JSON.stringify(delivery.payload);
  const timestamp = Math.floor(deps.clock().getTime() / 1000);
  return sendWebhook(pool, {
    endpointId: delivery.webhook_endpoint_id,
    url: checked.url,
    address: checked.address,
    body,
    timeoutMs: deps.timeoutMs ?? webhookTimeoutMs,
    headers: {
      'webhook-id': delivery.webhook_event_id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(secret, delivery.webhook_event_id, timestamp, body),
    },
  });
}
