import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import { pageNewestFirst } from '../../platform/db/keyset.js';

export interface EndpointTable {
  organization_id: string;
  id: string;
  url: string;
  description: string | null;
  enabled_events: string[];
  metadata: Record<string, unknown> | null;
  secret_ciphertext: string;
  status: 'ACTIVE' | 'DISABLED' | 'ARCHIVED';
  consecutive_failures: number;
  circuit_broken_until: Date | null;
  /** A receiver's 429 asked for a pause: nothing of the endpoint is attempted before this. */
  rate_limited_until: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface DeliveryTable {
  organization_id: string;
  id: string;
  webhook_endpoint_id: string;
  webhook_event_id: string;
  event_type: string;
  payload: unknown;
  status: 'PENDING' | 'SENDING' | 'DELIVERED' | 'FAILED';
  attempt_count: number;
  max_attempts: number;
  next_attempt_at: Date | null;
  last_attempt_at: Date | null;
  last_response_status: number | null;
  last_response_body: string | null;
  last_error: string | null;
  error_code: string | null;
  resend_seq: number;
  delivered_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

interface OutboxTable {
  organization_id: string;
  id: string;
  topic: string;
  payload: unknown;
  created_at: Date;
  delivered_at: Date | null;
}

type Tables = { webhook_endpoints: EndpointTable; webhook_deliveries: DeliveryTable; outbox: OutboxTable };
export type EndpointRow = EndpointTable;
export type DeliveryRow = DeliveryTable;
export type OutboxRow = OutboxTable;

const tables = (db: Database) => db.withTables<Tables>();

export async function insertEndpoint(db: Database, row: EndpointRow): Promise<void> {
  await tables(db).insertInto('webhook_endpoints').values(row).execute();
}

export async function countLiveEndpoints(db: Database, organizationId: string): Promise<number> {
  const row = await tables(db)
    .selectFrom('webhook_endpoints')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('organization_id', '=', organizationId)
    .where('status', '!=', 'ARCHIVED')
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** A live (not archived) endpoint. */
export async function findEndpoint(db: Database, organizationId: string, id: string, forUpdate = false) {
  let query = tables(db)
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .where('status', '!=', 'ARCHIVED');
  if (forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

export async function updateEndpoint(
  db: Database,
  organizationId: string,
  id: string,
  changes: Partial<Omit<EndpointRow, 'organization_id' | 'id' | 'created_at'>>,
): Promise<EndpointRow> {
  return tables(db)
    .updateTable('webhook_endpoints')
    .set(changes)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export interface ListFilter<Status> {
  status: Status | undefined;
  after: [unknown, unknown] | undefined;
  limit: number;
}

/** Newest first, archived endpoints left out. */
export async function listEndpoints(
  db: Database,
  organizationId: string,
  filter: ListFilter<'ACTIVE' | 'DISABLED'>,
) {
  let query = tables(db)
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('status', '!=', 'ARCHIVED');
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  return pageNewestFirst(query, filter).execute();
}

export async function insertDeliveries(db: Database, rows: DeliveryRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tables(db)
    .insertInto('webhook_deliveries')
    .values(rows)
    .onConflict((conflict) =>
      conflict
        .columns(['organization_id', 'webhook_endpoint_id', 'webhook_event_id', 'resend_seq'])
        .doNothing(),
    )
    .execute();
}

export async function findDelivery(db: Database, organizationId: string, id: string, forUpdate = false) {
  let query = tables(db)
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', id);
  if (forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

export async function findLatestResendSeq(db: Database, source: DeliveryRow): Promise<number> {
  const row = await tables(db)
    .selectFrom('webhook_deliveries')
    .select((eb) => eb.fn.max('resend_seq').as('seq'))
    .where('organization_id', '=', source.organization_id)
    .where('webhook_endpoint_id', '=', source.webhook_endpoint_id)
    .where('webhook_event_id', '=', source.webhook_event_id)
    .executeTakeFirstOrThrow();
  return Number(row.seq ?? 0);
}

export async function updateDelivery(
  db: Database,
  organizationId: string,
  id: string,
  changes: Partial<Omit<DeliveryRow, 'organization_id' | 'id' | 'payload'>>,
): Promise<DeliveryRow> {
  return tables(db)
    .updateTable('webhook_deliveries')
    .set(changes)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Newest first. */
export async function listDeliveries(
  db: Database,
  organizationId: string,
  endpointId: string,
  filter: ListFilter<DeliveryRow['status']>,
) {
  let query = tables(db)
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('webhook_endpoint_id', '=', endpointId);
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  return pageNewestFirst(query, filter).execute();
}

export interface HealthRow {
  id: string;
  url: string;
  status: EndpointRow['status'];
  circuit_broken_until: Date | null;
  rate_limited_until: Date | null;
  success_24h: string;
  fail_24h: string;
  pending_count: string;
  oldest_pending_at: Date | null;
  last_attempt_at: Date | null;
}

/** Per live endpoint: outcomes of the deliveries last attempted in the 24 hours before `now`. */
export async function readHealth(db: Database, organizationId: string, now: Date): Promise<HealthRow[]> {
  const since = new Date(now.getTime() - 86_400_000);
  const result = await sql<HealthRow>`
    select e.id, e.url, e.status, e.circuit_broken_until, e.rate_limited_until,
      count(*) filter (where d.status = 'DELIVERED' and d.last_attempt_at >= ${since}) as success_24h,
      count(*) filter (where d.status <> 'DELIVERED' and d.attempt_count > 0 and d.last_attempt_at >= ${since}) as fail_24h,
      count(*) filter (where d.status in ('PENDING', 'SENDING')) as pending_count,
      min(d.created_at) filter (where d.status in ('PENDING', 'SENDING')) as oldest_pending_at,
      max(d.last_attempt_at) as last_attempt_at
    from webhook_endpoints e
    left join webhook_deliveries d
      on d.organization_id = e.organization_id and d.webhook_endpoint_id = e.id
      and (d.status in ('PENDING', 'SENDING') or d.last_attempt_at >= ${since})
    where e.organization_id = ${organizationId} and e.status <> 'ARCHIVED'
    group by e.organization_id, e.id
    order by e.created_at desc, e.id desc`.execute(db);
  return result.rows;
}

// The deliverer's side: fan-out, claims, attempts, pruning.

/** Undelivered outbox rows, oldest first, locked so that two deliverers fan out each row once. */
export async function claimOutbox(db: Database, limit: number): Promise<OutboxRow[]> {
  return tables(db)
    .selectFrom('outbox')
    .selectAll()
    .where('delivered_at', 'is', null)
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

export async function listSubscribedEndpoints(db: Database, organizationIds: string[]) {
  if (organizationIds.length === 0) return [];
  return tables(db)
    .selectFrom('webhook_endpoints')
    .select(['organization_id', 'id', 'enabled_events'])
    .where('organization_id', 'in', organizationIds)
    .where('status', '=', 'ACTIVE')
    .execute();
}

export async function markOutboxDelivered(db: Database, rows: OutboxRow[], now: Date): Promise<void> {
  if (rows.length === 0) return;
  await tables(db)
    .updateTable('outbox')
    .set({ delivered_at: now })
    .where(
      sql<boolean>`(organization_id, id) in (${sql.join(rows.map((row) => sql`(${row.organization_id}::uuid, ${row.id}::uuid)`))})`,
    )
    .execute();
}

export async function pruneOutbox(db: Database, deliveredBefore: Date, limit: number): Promise<number> {
  const result = await sql`
    delete from outbox where ctid in (
      select ctid from outbox where delivered_at < ${deliveredBefore} limit ${limit})`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

export interface ClaimedDelivery extends DeliveryRow {
  url: string;
  secret_ciphertext: string;
}

export interface ClaimRequest {
  now: Date;
  leaseUntil: Date;
  limit: number;
  /** At most this many deliveries of one endpoint in flight in this process... */
  perEndpointMax: number;
  /** ...counting those it already has in flight, by endpoint id. */
  inFlightByEndpoint: Map<string, number>;
}

/**
 * Due deliveries of ACTIVE endpoints whose circuit is closed and that are not rate limited, oldest
 * due first, moved to SENDING until `leaseUntil`: a sender that dies leaves them to be claimed again
 * then. Each endpoint offers only as many of its oldest as it has free slots in this process, and an
 * endpoint with none is not read at all, so a slow receiver's backlog costs the others nothing: its
 * rows are neither scanned nor locked while its slots are full.
 */
export async function claimDueDeliveries(db: Database, request: ClaimRequest): Promise<ClaimedDelivery[]> {
  const { now, leaseUntil, limit, perEndpointMax } = request;
  const busyIds = [...request.inFlightByEndpoint.keys()];
  const busyCounts = [...request.inFlightByEndpoint.values()];
  const result = await sql<ClaimedDelivery>`
    with busy as (
      select * from unnest(${busyIds}::uuid[], ${busyCounts}::int[]) as b (endpoint_id, in_flight)),
    due as (
      select c.organization_id, c.id from webhook_endpoints e
      left join busy b on b.endpoint_id = e.id
      cross join lateral (
        select d.organization_id, d.id, d.next_attempt_at from webhook_deliveries d
        where d.organization_id = e.organization_id and d.webhook_endpoint_id = e.id
          and d.next_attempt_at <= ${now} and d.status in ('PENDING', 'SENDING')
        order by d.next_attempt_at
        limit ${perEndpointMax}::int - coalesce(b.in_flight, 0)
        for update skip locked) c
      where e.status = 'ACTIVE' and coalesce(b.in_flight, 0) < ${perEndpointMax}::int
        and (e.circuit_broken_until is null or e.circuit_broken_until <= ${now})
        and (e.rate_limited_until is null or e.rate_limited_until <= ${now})
      order by c.next_attempt_at
      limit ${limit})
    update webhook_deliveries d set status = 'SENDING', next_attempt_at = ${leaseUntil}, updated_at = ${now}
    from due, webhook_endpoints e
    where d.organization_id = due.organization_id and d.id = due.id
      and e.organization_id = d.organization_id and e.id = d.webhook_endpoint_id
    returning d.*, e.url, e.secret_ciphertext`.execute(db);
  return result.rows;
}

/** A delivery's state after an attempt. */
export type AttemptRecord = Pick<
  DeliveryRow,
  | 'organization_id'
  | 'id'
  | 'webhook_endpoint_id'
  | 'status'
  | 'attempt_count'
  | 'next_attempt_at'
  | 'last_attempt_at'
  | 'last_response_status'
  | 'last_response_body'
  | 'last_error'
  | 'error_code'
  | 'delivered_at'
>;

export interface AttemptsRecord {
  now: Date;
  attempts: AttemptRecord[];
  /** The same attempts, summed per endpoint. */
  endpoints: EndpointOutcome[];
  /** Consecutive failures that open an endpoint's circuit, until `circuitOpenUntil`. */
  openCircuitAfter: number;
  circuitOpenUntil: Date;
}

/** An endpoint's attempts of one batch, in the order they ended, summed for its breaker. */
export interface EndpointOutcome {
  organization_id: string;
  id: string;
  /** Some attempt succeeded: the failures before it no longer count. */
  reset: boolean;
  /** Failed attempts after the last success (all of them without one). */
  failures: number;
  rate_limited_until: Date | null;
}

/**
 * The outcomes of a batch of attempts, in one statement: each delivery's new state, and per
 * endpoint: a success closes the circuit and the failures after it count, opening it at
 * `openCircuitAfter`; a 429 pauses the endpoint. Endpoint rows are locked in key order, so two
 * deliverers recording at once cannot deadlock; a healthy endpoint's row is not written.
 */
export async function recordAttempts(db: Database, record: AttemptsRecord): Promise<void> {
  if (record.attempts.length === 0) return;
  const { now, openCircuitAfter, circuitOpenUntil } = record;
  const attempts = record.attempts.map((attempt) => ({
    organization_id: attempt.organization_id,
    id: attempt.id,
    status: attempt.status,
    attempt_count: attempt.attempt_count,
    next_attempt_at: attempt.next_attempt_at,
    last_attempt_at: attempt.last_attempt_at,
    last_response_status: attempt.last_response_status,
    last_response_body: attempt.last_response_body,
    last_error: attempt.last_error,
    error_code: attempt.error_code,
    delivered_at: attempt.delivered_at,
  }));
  await sql`
    with deliveries as (
      update webhook_deliveries d set status = v.status, attempt_count = v.attempt_count,
        next_attempt_at = v.next_attempt_at, last_attempt_at = v.last_attempt_at,
        last_response_status = v.last_response_status, last_response_body = v.last_response_body,
        last_error = v.last_error, error_code = v.error_code, delivered_at = v.delivered_at,
        updated_at = ${now}
      from jsonb_to_recordset(${JSON.stringify(attempts)}::jsonb) as v (
        organization_id uuid, id uuid, status text, attempt_count integer, next_attempt_at timestamptz,
        last_attempt_at timestamptz, last_response_status integer, last_response_body text,
        last_error text, error_code text, delivered_at timestamptz)
      where d.organization_id = v.organization_id and d.id = v.id
      returning d.id),
    outcomes as (
      select * from jsonb_to_recordset(${JSON.stringify(record.endpoints)}::jsonb) as v (
        organization_id uuid, id uuid, reset boolean, failures integer, rate_limited_until timestamptz)),
    locked as (
      select e.organization_id, e.id, o.reset, o.failures, o.rate_limited_until,
        case when o.reset then 0 else e.consecutive_failures end as failures_before
      from webhook_endpoints e join outcomes o on e.organization_id = o.organization_id and e.id = o.id
      where not (o.reset and o.failures = 0 and o.rate_limited_until is null
        and e.consecutive_failures = 0 and e.circuit_broken_until is null)
      order by e.organization_id, e.id
      for update of e),
    endpoints as (
      update webhook_endpoints e set
        consecutive_failures = l.failures_before + l.failures,
        circuit_broken_until = case
          when l.failures > 0 and l.failures_before + l.failures >= ${openCircuitAfter}::int
            then ${circuitOpenUntil}::timestamptz
          when l.reset then null
          else e.circuit_broken_until end,
        rate_limited_until = greatest(e.rate_limited_until, l.rate_limited_until)
      from locked l
      where e.organization_id = l.organization_id and e.id = l.id
      returning e.id)
    select (select count(*) from deliveries) as deliveries, (select count(*) from endpoints) as endpoints`.execute(
    db,
  );
}
