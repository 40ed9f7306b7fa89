import type { Clock } from '../../platform/clock.js';
import { toIso, toIsoOrNull } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { DomainError, notFound } from '../../platform/errors.js';
import { decodeKeyset, type PageResult, toPage } from '../../platform/http/pagination.js';
import { newId } from '../../platform/ids.js';
import {
  webhookAttemptsMax,
  webhookEndpointsPerOrganizationMax,
  webhookPageSizeDefault,
} from '../../platform/limits.js';
import { forgetSubscriptions } from '../../platform/outbox.js';
import {
  checkEndpointUrl,
  parseAllowList,
  type Resolver,
  systemResolver,
  type UrlPolicy,
} from './url-safety.js';
import { encryptSecret, generateSecret } from './webhook-secrets.js';
import type {
  CreateEndpointBody,
  DeliveryStats,
  ListDeliveriesQuery,
  ListEndpointsQuery,
  UpdateEndpointBody,
  WebhookDelivery,
  WebhookDeliveryDetail,
  WebhookEndpoint,
  WebhookEndpointWithSecret,
} from './webhooks.schemas.js';
import type { DeliveryRow, EndpointRow } from './webhooks.store.js';
import * as store from './webhooks.store.js';

/** What the webhook routes and the deliverer need beyond the database and the clock. */
export interface WebhookSettings {
  /** Encrypts the signing secrets at rest. */
  secretKey: Buffer;
  urlPolicy: UrlPolicy;
}

export function createWebhookSettings(
  secretKey: Buffer,
  allowHosts: string[],
  resolve: Resolver = systemResolver,
): WebhookSettings {
  return { secretKey, urlPolicy: { resolve, allowHosts: parseAllowList(allowHosts) } };
}

export function toEndpoint(row: EndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    enabled_events: row.enabled_events,
    metadata: row.metadata ?? null,
    status: row.status,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  };
}

export async function createEndpoint(
  db: Database,
  clock: Clock,
  settings: WebhookSettings,
  organizationId: string,
  body: CreateEndpointBody,
): Promise<WebhookEndpointWithSecret> {
  await checkEndpointUrl(body.url, settings.urlPolicy);
  const now = clock();
  const id = newId();
  const secret = generateSecret();
  const row: EndpointRow = {
    organization_id: organizationId,
    id,
    url: body.url,
    description: body.description ?? null,
    enabled_events: body.enabled_events,
    metadata: body.metadata ?? null,
    secret_ciphertext: encryptSecret(settings.secretKey, secret, id),
    status: 'ACTIVE',
    consecutive_failures: 0,
    circuit_broken_until: null,
    rate_limited_until: null,
    created_at: now,
    updated_at: now,
  };
  await withTransaction(db, async (trx) => {
    if ((await store.countLiveEndpoints(trx, organizationId)) >= webhookEndpointsPerOrganizationMax) {
      throw new DomainError(
        'conflict',
        `an organization has at most ${webhookEndpointsPerOrganizationMax} webhook endpoints`,
      );
    }
    await store.insertEndpoint(trx, row);
  });
  forgetSubscriptions(organizationId);
  return { ...toEndpoint(row), secret };
}

export async function getEndpoint(
  db: Database,
  organizationId: string,
  id: string,
): Promise<WebhookEndpoint> {
  return toEndpoint(await requireEndpoint(db, organizationId, id));
}

async function requireEndpoint(db: Database, organizationId: string, id: string, forUpdate = false) {
  const row = await store.findEndpoint(db, organizationId, id, forUpdate);
  if (row === undefined) throw notFound('webhook endpoint');
  return row;
}

export async function updateEndpoint(
  db: Database,
  clock: Clock,
  settings: WebhookSettings,
  organizationId: string,
  id: string,
  body: UpdateEndpointBody,
): Promise<WebhookEndpoint> {
  // Another organization's id answers 404 whatever the body; the URL is checked outside the lock.
  await requireEndpoint(db, organizationId, id);
  if (body.url !== undefined) await checkEndpointUrl(body.url, settings.urlPolicy);
  const row = await withTransaction(db, async (trx) => {
    await requireEndpoint(trx, organizationId, id, true);
    return store.updateEndpoint(trx, organizationId, id, {
      ...body,
      // Re-enabling gives the receiver a fresh start.
      ...(body.status === 'ACTIVE' ? { consecutive_failures: 0, circuit_broken_until: null } : {}),
      updated_at: clock(),
    });
  });
  forgetSubscriptions(organizationId);
  return toEndpoint(row);
}

export async function archiveEndpoint(db: Database, clock: Clock, organizationId: string, id: string) {
  const row = await withTransaction(db, async (trx) => {
    await requireEndpoint(trx, organizationId, id, true);
    return store.updateEndpoint(trx, organizationId, id, { status: 'ARCHIVED', updated_at: clock() });
  });
  forgetSubscriptions(organizationId);
  return toEndpoint(row);
}

/** A new secret, effective at once: the next attempt of every delivery is signed with it. */
export async function rotateSecret(
  db: Database,
  clock: Clock,
  settings: WebhookSettings,
  organizationId: string,
  id: string,
): Promise<WebhookEndpointWithSecret> {
  const secret = generateSecret();
  const row = await withTransaction(db, async (trx) => {
    await requireEndpoint(trx, organizationId, id, true);
    return store.updateEndpoint(trx, organizationId, id, {
      secret_ciphertext: encryptSecret(settings.secretKey, secret, id),
      updated_at: clock(),
    });
  });
  return { ...toEndpoint(row), secret };
}

export async function listEndpoints(
  db: Database,
  organizationId: string,
  query: ListEndpointsQuery,
): Promise<PageResult<WebhookEndpoint>> {
  const limit = query.limit ?? webhookPageSizeDefault;
  const scope = 'webhook-endpoints';
  const rows = await store.listEndpoints(db, organizationId, {
    status: query.status,
    after: decodeKeyset(query.cursor, scope),
    limit,
  });
  return toPage(rows, limit, scope, (row) => [row.created_at, row.id], toEndpoint);
}

export function toDelivery(row: DeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    webhook_endpoint_id: row.webhook_endpoint_id,
    webhook_event_id: row.webhook_event_id,
    event_type: row.event_type,
    status: row.status,
    attempt_count: row.attempt_count,
    max_attempts: row.max_attempts,
    // While SENDING the column holds the claim's end, not a scheduled attempt.
    next_attempt_at: row.status === 'PENDING' ? toIsoOrNull(row.next_attempt_at) : null,
    last_attempt_at: toIsoOrNull(row.last_attempt_at),
    last_response_status: row.last_response_status,
    last_error: row.last_error,
    error_code: row.error_code,
    resend_seq: row.resend_seq,
    delivered_at: toIsoOrNull(row.delivered_at),
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  };
}

function toDeliveryDetail(row: DeliveryRow): WebhookDeliveryDetail {
  return { ...toDelivery(row), last_response_body: row.last_response_body, payload: row.payload };
}

export async function listDeliveries(
  db: Database,
  organizationId: string,
  endpointId: string,
  query: ListDeliveriesQuery,
): Promise<PageResult<WebhookDelivery>> {
  await requireEndpoint(db, organizationId, endpointId);
  const limit = query.limit ?? webhookPageSizeDefault;
  const scope = `webhook-deliveries:${endpointId}`;
  const rows = await store.listDeliveries(db, organizationId, endpointId, {
    status: query.status,
    after: decodeKeyset(query.cursor, scope),
    limit,
  });
  return toPage(rows, limit, scope, (row) => [row.created_at, row.id], toDelivery);
}

export async function getDelivery(db: Database, organizationId: string, id: string) {
  return toDeliveryDetail(await requireDelivery(db, organizationId, id));
}

async function requireDelivery(db: Database, organizationId: string, id: string, forUpdate = false) {
  const row = await store.findDelivery(db, organizationId, id, forUpdate);
  if (row === undefined) throw notFound('webhook delivery');
  return row;
}

/** FAILED -> PENDING with fresh attempts, due now. Any other status is not retryable: 404. */
export async function retryDelivery(db: Database, clock: Clock, organizationId: string, id: string) {
  const row = await withTransaction(db, async (trx) => {
    const delivery = await requireDelivery(trx, organizationId, id, true);
    if (delivery.status !== 'FAILED') throw notFound('failed webhook delivery');
    const now = clock();
    return store.updateDelivery(trx, organizationId, id, {
      status: 'PENDING',
      attempt_count: 0,
      max_attempts: webhookAttemptsMax,
      next_attempt_at: now,
      updated_at: now,
    });
  });
  return toDeliveryDetail(row);
}

/** A new delivery of the same envelope to the same endpoint; the source is left as it is. */
export async function resendDelivery(db: Database, clock: Clock, organizationId: string, id: string) {
  const row = await withTransaction(db, async (trx) => {
    const source = await requireDelivery(trx, organizationId, id);
    if (source.status === 'PENDING' || source.status === 'SENDING') {
      throw new DomainError('not_resendable', `a ${source.status} delivery cannot be resent`);
    }
    // The endpoint row lock serializes resends of one endpoint, so resend_seq stays unique.
    const endpoint = await store.findEndpoint(trx, organizationId, source.webhook_endpoint_id, true);
    if (endpoint?.status !== 'ACTIVE') {
      throw new DomainError('endpoint_not_active', 'the webhook endpoint is not ACTIVE');
    }
    const now = clock();
    const copy: DeliveryRow = {
      ...newDelivery(source, now),
      resend_seq: (await store.findLatestResendSeq(trx, source)) + 1,
    };
    await store.insertDeliveries(trx, [copy]);
    return copy;
  });
  return toDeliveryDetail(row);
}

/** A PENDING delivery of an envelope, due now. */
export function newDelivery(
  envelope: Pick<
    DeliveryRow,
    'organization_id' | 'webhook_endpoint_id' | 'webhook_event_id' | 'event_type' | 'payload'
  >,
  now: Date,
): DeliveryRow {
  return {
    organization_id: envelope.organization_id,
    id: newId(),
    webhook_endpoint_id: envelope.webhook_endpoint_id,
    webhook_event_id: envelope.webhook_event_id,
    event_type: envelope.event_type,
    payload: envelope.payload,
    status: 'PENDING',
    attempt_count: 0,
    max_attempts: webhookAttemptsMax,
    next_attempt_at: now,
    last_attempt_at: null,
    last_response_status: null,
    last_response_body: null,
    last_error: null,
    error_code: null,
    resend_seq: 0,
    delivered_at: null,
    created_at: now,
    updated_at: now,
  };
}

/** What holds an endpoint's deliveries back, and until when: the later of both if both do. */
function blocked(circuitBrokenUntil: Date | null, rateLimitedUntil: Date | null) {
  if (circuitBrokenUntil === null && rateLimitedUntil === null) {
    return { blocked_reason: null, blocked_until: null };
  }
  const circuitLater =
    rateLimitedUntil === null || (circuitBrokenUntil !== null && circuitBrokenUntil >= rateLimitedUntil);
  return circuitLater
    ? { blocked_reason: 'circuit_broken', blocked_until: toIsoOrNull(circuitBrokenUntil) }
    : { blocked_reason: 'rate_limited', blocked_until: toIsoOrNull(rateLimitedUntil) };
}

/** Degraded: under 90% of the last day's deliveries succeeded, or the circuit is open. */
const degradedBelowRate = 0.9;

export async function readDeliveryStats(
  db: Database,
  clock: Clock,
  organizationId: string,
): Promise<DeliveryStats> {
  const now = clock();
  const rows = await store.readHealth(db, organizationId, now);
  return {
    data: rows.map((row) => {
      const success = Number(row.success_24h);
      const fail = Number(row.fail_24h);
      const rate = success + fail === 0 ? null : Math.round((success / (success + fail)) * 10_000) / 10_000;
      const broken = row.circuit_broken_until !== null && row.circuit_broken_until > now;
      const limited = row.rate_limited_until !== null && row.rate_limited_until > now;
      return {
        endpoint_id: row.id,
        url: row.url,
        status: row.status,
        success_24h: success,
        fail_24h: fail,
        success_rate: rate,
        degraded: broken || (rate !== null && rate < degradedBelowRate),
        pending_count: Number(row.pending_count),
        oldest_pending_at: toIsoOrNull(row.oldest_pending_at),
        last_attempt_at: toIsoOrNull(row.last_attempt_at),
        circuit_broken_until: broken ? toIsoOrNull(row.circuit_broken_until) : null,
        rate_limited_until: limited ? toIsoOrNull(row.rate_limited_until) : null,
        ...blocked(broken ? row.circuit_broken_until : null, limited ? row.rate_limited_until : null),
      };
    }),
  };
}
