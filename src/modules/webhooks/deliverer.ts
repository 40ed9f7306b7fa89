// The deliverer: fans outbox rows out to one delivery per subscribed ACTIVE endpoint, claims due
// deliveries with SKIP LOCKED (so any number of processes share the work), POSTs them signed with the
// endpoint's current secret, and records the outcome. At least once: a process that dies between the
// POST and its record leaves the delivery SENDING until its claim lapses, and it is sent again with
// the same webhook-id. Attempts run concurrently, so one slow receiver holds only its own slots.
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
import { sendWebhook, type WebhookResponse } from './http-sender.js';
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
 * Runs until stopped: every poll, and again as soon as an attempt ends, it fans the outbox out and
 * fills the free delivery slots, so a fast receiver is fed without waiting for the next poll.
 */
export function startWebhookDeliverer(deps: DelivererDeps): WebhookDeliverer {
  const inFlight = new InFlight();
  let stopped = false;
  let queued = false;
  let lastPruneMs = 0;
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    await fanOutOutbox(deps.db, deps.clock());
    if (Date.now() - lastPruneMs > pruneEveryMs) {
      lastPruneMs = Date.now();
      await pruneDeliveredOutbox(deps.db, deps.clock(), deps.outboxRetentionMs);
    }
    const free = webhookConcurrencyMax - inFlight.size;
    if (free <= 0) return;
    for (const claimed of await claimDeliveries(deps, free, inFlight.byEndpoint)) {
      inFlight.track(claimed.webhook_endpoint_id, attemptLogged(deps, claimed).finally(kick));
    }
  };
  const kick = () => {
    if (stopped || queued) return;
    queued = true;
    running = running.then(async () => {
      queued = false;
      if (!stopped)
        await tick().catch((error) => deps.logger.warn({ err: error }, 'webhook deliverer tick failed'));
    });
  };
  const timer = setInterval(kick, deps.pollIntervalMs ?? 200);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      await inFlight.settled();
    },
  };
}

/** Attempts under way in this process, counted per endpoint. */
class InFlight {
  readonly byEndpoint = new Map<string, number>();
  private readonly attempts = new Set<Promise<void>>();

  get size(): number {
    return this.attempts.size;
  }

  track(endpointId: string, attempt: Promise<void>): void {
    this.attempts.add(attempt);
    this.byEndpoint.set(endpointId, (this.byEndpoint.get(endpointId) ?? 0) + 1);
    void attempt.then(() => {
      this.attempts.delete(attempt);
      const left = (this.byEndpoint.get(endpointId) ?? 1) - 1;
      if (left === 0) this.byEndpoint.delete(endpointId);
      else this.byEndpoint.set(endpointId, left);
    });
  }

  async settled(): Promise<void> {
    await Promise.all(this.attempts);
  }
}

function attemptLogged(deps: DelivererDeps, claimed: store.ClaimedDelivery): Promise<void> {
  return attemptDelivery(deps, claimed).catch((error) =>
    deps.logger.error({ err: error, delivery_id: claimed.id }, 'webhook attempt failed to record'),
  );
}

/** One round, awaited: fan out, then claim and attempt every due delivery. For tests and tools. */
export async function deliverDueWebhooks(deps: DelivererDeps): Promise<number> {
  await fanOutOutbox(deps.db, deps.clock());
  const claimed = await claimDeliveries(deps, webhookConcurrencyMax, new Map());
  await Promise.all(claimed.map((delivery) => attemptDelivery(deps, delivery)));
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

async function attemptDelivery(deps: DelivererDeps, delivery: store.ClaimedDelivery): Promise<void> {
  const response = await post(deps, delivery);
  const now = deps.clock();
  const succeeded = response.status !== null && response.status >= 200 && response.status < 300;
  const attempts = delivery.attempt_count + 1;
  const exhausted = !succeeded && attempts >= delivery.max_attempts;
  await withTransaction(deps.db, async (trx) => {
    await store.updateDelivery(trx, delivery.organization_id, delivery.id, {
      status: succeeded ? 'DELIVERED' : exhausted ? 'FAILED' : 'PENDING',
      attempt_count: attempts,
      next_attempt_at:
        succeeded || exhausted ? null : new Date(now.getTime() + backoffMs(deps.retryBaseMs, attempts)),
      last_attempt_at: now,
      last_response_status: response.status,
      last_response_body: response.body,
      last_error: response.error,
      error_code: response.errorCode,
      delivered_at: succeeded ? now : null,
      updated_at: now,
    });
    const circuitOpenUntil = new Date(now.getTime() + deps.circuitBreakMs);
    await store.recordEndpointOutcome(trx, delivery, succeeded, webhookBreakerFailuresMax, circuitOpenUntil);
  });
  webhookDeliveryAttempts.inc({ outcome: succeeded ? 'delivered' : exhausted ? 'failed' : 'retrying' });
}

/** Exponential: base, 2 x base, 4 x base, ... each within +-25% so that retries do not bunch up. */
export function backoffMs(baseMs: number, attempts: number): number {
  return Math.round(baseMs * 2 ** (attempts - 1) * (0.75 + Math.random() * 0.5));
}

/** The URL is checked again at every attempt: DNS may have changed since the endpoint was made. */
async function post(deps: DelivererDeps, delivery: store.ClaimedDelivery): Promise<WebhookResponse> {
  let checked: Awaited<ReturnType<typeof checkEndpointUrl>>;
  try {
    checked = await checkEndpointUrl(delivery.url, deps.settings.urlPolicy);
  } catch (error) {
    return { status: null, body: null, error: (error as Error).message, errorCode: 'url_refused' };
  }
  const secret = decryptSecret(
    deps.settings.secretKey,
    delivery.secret_ciphertext,
    delivery.webhook_endpoint_id,
  );
  const body = JSON.stringify(delivery.payload);
  const timestamp = Math.floor(deps.clock().getTime() / 1000);
  return sendWebhook({
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
