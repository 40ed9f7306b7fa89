import { type Generated, type RawBuilder, sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import { pageInSortOrder, type SortDirection } from '../../platform/db/keyset.js';

export type EventStatus = 'PENDING' | 'PROCESSING' | 'COMPLETED' | 'FAILED';

/**
 * An event as read: the events row with its queue row (event_queue) and its outcome (event_outcomes)
 * folded in by the view events_with_status. status is PROCESSING while a claim holds the event; the
 * claim columns and available_at are null once it finished, and the outcome's columns until then.
 * Written only through the functions below and the queue's.
 */
export interface EventTable {
  organization_id: string;
  id: string;
  ingest_seq: Generated<string>;
  program_id: string;
  participant_id: string | null;
  external_id: string | null;
  recipient_id: string | null;
  recipient_external_id: string | null;
  ordering_key: string;
  idempotency_key: string;
  payload_hash: Buffer;
  event_type: 'EXTERNAL' | 'SYSTEM';
  event_data: Record<string, unknown>;
  event_timestamp: Date;
  status: EventStatus;
  error_message: string | null;
  claim_count: number;
  claim_token: string | null;
  lease_expires_at: Date | null;
  available_at: Date | null;
  received_at: Date;
  created_at: Date;
  processed_at: Date | null;
  updated_at: Date;
}

type Tables = { events_with_status: EventTable };

export type EventRow = Omit<EventTable, 'ingest_seq'> & { ingest_seq: string };
/** An event as a claim holds it while applying it: what processing reads, not the whole row. */
export type ClaimedEvent = Pick<
  EventRow,
  | 'organization_id'
  | 'id'
  | 'program_id'
  | 'participant_id'
  | 'external_id'
  | 'recipient_id'
  | 'recipient_external_id'
  | 'ordering_key'
  | 'event_type'
  | 'event_data'
  | 'event_timestamp'
  | 'claim_count'
  | 'received_at'
>;
export type NewEventRow = Omit<
  EventRow,
  | 'ingest_seq'
  | 'status'
  | 'error_message'
  | 'claim_count'
  | 'claim_token'
  | 'lease_expires_at'
  | 'processed_at'
  | 'available_at'
> & { available_at: Date };

const tables = (db: Database) => db.withTables<Tables>();

/**
 * Inserts the events of one request in one statement, each with its queue row: the rows travel as one
 * JSON array parameter (one native JSON.stringify instead of escaping every value of every column),
 * one round trip and one parse for the whole batch. A key that exists already, or repeats inside the
 * batch, is skipped; the answer lists the ids this statement inserted. Every event insert goes
 * through here or insertSystemEventsIfAbsent, so no event exists without having been queued.
 */
export async function insertEventsIfAbsent(db: Database, rows: EventRowToInsert[]): Promise<Set<string>> {
  const payload = `[${rows.map(toInsertJson).join(',')}]`;
  return insertQueuedEvents(
    db,
    sql`select * from rows from (jsonb_to_recordset(${payload}::jsonb) as (organization_id uuid, id uuid,
      program_id uuid, participant_id uuid, external_id text, recipient_id uuid, recipient_external_id text,
      ordering_key text, idempotency_key text, payload_hash text, event_type text, event_data jsonb,
      event_timestamp timestamptz, available_at timestamptz, received_at timestamptz, created_at timestamptz,
      updated_at timestamptz)) with ordinality as r (organization_id, id, program_id, participant_id,
      external_id, recipient_id, recipient_external_id, ordering_key, idempotency_key, payload_hash,
      event_type, event_data, event_timestamp, available_at, received_at, created_at, updated_at, n)`,
  );
}

/** SYSTEM events of one program, stored at `now`, as insertSystemEventsIfAbsent takes them. */
export interface SystemEventsToInsert {
  organizationId: string;
  programId: string;
  now: Date;
  /** The distinct event_data of these events, each serialized: a fan-out's events share one. */
  eventDataJson: string[];
  events: {
    id: string;
    participantId: string | null;
    idempotencyKey: string;
    payloadHash: Buffer;
    eventTimestamp: Date;
    /** Which of eventDataJson is this event's. */
    eventData: number;
  }[];
}

/**
 * insertEventsIfAbsent for SYSTEM events (automations, subscriptions): the columns that differ
 * travel as arrays and the event_data once per distinct value, so a fan-out chunk of thousands of
 * events sends and parses its shared data, program and times once instead of in every row. The
 * columns of ids, hashes, times and numbers need no quoting: each travels as one comma-separated
 * text rather than as an array the driver escapes item by item. An empty item is null; a lone event
 * with no participant makes an empty text, so an empty array, which unnest pads with null as well.
 * Each event is its own ordering key (`s:` and its id), so a fan-out never holds back a
 * participant's other events.
 */
export async function insertSystemEventsIfAbsent(
  db: Database,
  batch: SystemEventsToInsert,
): Promise<Set<string>> {
  const list = (value: (event: SystemEventsToInsert['events'][number]) => string | number) =>
    batch.events.map(value).join(',');
  const now = batch.now.toISOString();
  return insertQueuedEvents(
    db,
    sql`select ${batch.organizationId}::uuid as organization_id, u.id, ${batch.programId}::uuid as program_id,
        u.participant_id, null::text as external_id, null::uuid as recipient_id,
        null::text as recipient_external_id, 's:' || u.id as ordering_key, u.idempotency_key, u.payload_hash,
        'SYSTEM' as event_type, d.data -> u.data_index as event_data, u.event_timestamp,
        ${now}::timestamptz as available_at, ${now}::timestamptz as received_at,
        ${now}::timestamptz as created_at, ${now}::timestamptz as updated_at, u.n
      from (select ${`[${batch.eventDataJson.join(',')}]`}::jsonb as data) d,
        unnest(string_to_array(${list((e) => e.id)}, ',')::uuid[],
          string_to_array(${list((e) => e.participantId ?? '')}, ',', '')::uuid[],
          ${batch.events.map((e) => e.idempotencyKey)}::text[],
          string_to_array(${list((e) => e.payloadHash.toString('hex'))}, ','),
          string_to_array(${list((e) => e.eventTimestamp.toISOString())}, ',')::timestamptz[],
          string_to_array(${list((e) => e.eventData)}, ',')::integer[])
        with ordinality as u (id, participant_id, idempotency_key, payload_hash, event_timestamp,
          data_index, n)`,
  );
}

/**
 * The insert both take: `rows` names every column of an event (payload_hash in hex), available_at
 * for its queue row and n for the order; events and queue rows are written in one statement.
 */
async function insertQueuedEvents(db: Database, rows: RawBuilder<unknown>): Promise<Set<string>> {
  const inserted = await sql<{ id: string }>`
    with r as (${rows}),
    inserted as (
      insert into events (organization_id, id, program_id, participant_id, external_id, recipient_id,
        recipient_external_id, ordering_key, idempotency_key, payload_hash, event_type, event_data,
        event_timestamp, received_at, created_at, updated_at)
      select organization_id, id, program_id, participant_id, external_id, recipient_id,
        recipient_external_id, ordering_key, idempotency_key, decode(payload_hash, 'hex'), event_type,
        event_data, event_timestamp, received_at, created_at, updated_at
      from r order by n
      on conflict (organization_id, program_id, idempotency_key) do nothing
      returning organization_id, id, ingest_seq, ordering_key),
    queued as (
      insert into event_queue (organization_id, event_id, ingest_seq, ordering_key, available_at)
      select i.organization_id, i.id, i.ingest_seq, i.ordering_key, r.available_at
      from inserted i join r on r.organization_id = i.organization_id and r.id = i.id)
    select id from inserted`.execute(db);
  return new Set(inserted.rows.map((row) => row.id));
}

/** A row to insert; `event_data_json` is its event_data already serialized, when the caller has it. */
export type EventRowToInsert = NewEventRow & { event_data_json?: string };

/**
 * The row as one element of the insert's JSON array, its columns named (a rest copy costs more) and
 * its instants written once each: JSON.stringify writing a Date costs about 0.5 µs, and the row's
 * available_at, created_at and updated_at (and mostly received_at) are one instant.
 */
function toInsertJson(row: EventRowToInsert): string {
  const createdAt = row.created_at.toISOString();
  const iso = (date: Date) => (date.getTime() === row.created_at.getTime() ? createdAt : date.toISOString());
  const head = JSON.stringify({
    organization_id: row.organization_id,
    id: row.id,
    program_id: row.program_id,
    participant_id: row.participant_id,
    external_id: row.external_id,
    recipient_id: row.recipient_id,
    recipient_external_id: row.recipient_external_id,
    ordering_key: row.ordering_key,
    idempotency_key: row.idempotency_key,
    payload_hash: row.payload_hash.toString('hex'),
    event_type: row.event_type,
    event_timestamp: row.event_timestamp.toISOString(),
    available_at: iso(row.available_at),
    received_at: iso(row.received_at),
    created_at: createdAt,
    updated_at: iso(row.updated_at),
  });
  return `${head.slice(0, -1)},"event_data":${row.event_data_json ?? JSON.stringify(row.event_data)}}`;
}

export interface EventKey {
  program_id: string;
  idempotency_key: string;
}

export async function findEventsByKeys(db: Database, organizationId: string, keys: EventKey[]) {
  const result = await sql<EventRow>`
    select e.* from events_with_status e
    join unnest(${keys.map((key) => key.program_id)}::uuid[], ${keys.map((key) => key.idempotency_key)}::text[])
      as k (program_id, idempotency_key)
      on e.program_id = k.program_id and e.idempotency_key = k.idempotency_key
    where e.organization_id = ${organizationId}`.execute(db);
  return result.rows;
}

export async function findEvent(db: Database, organizationId: string, id: string) {
  return (await tables(db)
    .selectFrom('events_with_status')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst()) as EventRow | undefined;
}

/**
 * Puts a FAILED event back in the queue with a fresh set of attempts (the claim count restarts),
 * due at once: its outcome goes and its row notes the time. Answers the event as it was, or
 * undefined when it is not FAILED (nothing changed). The event row is locked first, so two retries
 * of one event queue it once.
 */
export async function requeueFailedEvent(
  db: Database,
  organizationId: string,
  id: string,
  now: Date,
): Promise<EventRow | undefined> {
  await sql`select 1 from events where organization_id = ${organizationId} and id = ${id} for update`.execute(
    db,
  );
  const previous = await findEvent(db, organizationId, id);
  if (previous?.status !== 'FAILED') return undefined;
  await sql`
    with retried as (
      delete from event_outcomes where organization_id = ${organizationId} and event_id = ${id}),
    requeued as (
      update events set updated_at = ${now}::timestamptz
      where organization_id = ${organizationId} and id = ${id}
      returning organization_id, id, ingest_seq, ordering_key)
    insert into event_queue (organization_id, event_id, ingest_seq, ordering_key, available_at)
    select organization_id, id, ingest_seq, ordering_key, ${now}::timestamptz from requeued`.execute(db);
  return previous;
}

export async function notifyEventsPending(db: Database): Promise<void> {
  await sql`select pg_notify('accrue_events', '')`.execute(db);
}

export type EventSortColumn = 'created_at' | 'event_timestamp' | 'status';

export interface EventFilter {
  programId: string | undefined;
  statuses: string[] | undefined;
  eventType: 'EXTERNAL' | 'SYSTEM' | undefined;
  participantId: string | undefined;
  /** Events of one participant, including those not yet resolved (only external_id known). */
  participant: { id: string; externalId: string } | undefined;
  externalId: string | undefined;
  /** Only events in which this rule matched (a condition written by the rules module). */
  matchedRule: RawBuilder<boolean> | undefined;
  from: Date | undefined;
  to: Date | undefined;
  eventFrom: Date | undefined;
  eventTo: Date | undefined;
  sortBy: EventSortColumn;
  sortDir: SortDirection;
  after: [unknown, unknown] | undefined;
  limit: number;
}

/**
 * The organization's events whose row or outcome has `column` equal to `value`: an event names its
 * participant by id or by external id, and its outcome holds the other one once processing resolved
 * it. Each side is read through its own index; the view's coalesced column cannot be.
 */
function namedBy(organizationId: string, column: 'participant_id' | 'external_id', value: string) {
  return sql`select id from events where organization_id = ${organizationId} and ${sql.ref(column)} = ${value}
    union all select event_id from event_outcomes
      where organization_id = ${organizationId} and ${sql.ref(column)} = ${value}`;
}

export async function listEvents(db: Database, organizationId: string, filter: EventFilter) {
  // Named `events`: conditions written by other modules (matchedRule) name the events as that.
  let query = tables(db)
    .selectFrom('events_with_status as events')
    .selectAll()
    .where('organization_id', '=', organizationId);
  if (filter.programId !== undefined) query = query.where('program_id', '=', filter.programId);
  if (filter.statuses !== undefined) query = query.where('status', 'in', filter.statuses as EventStatus[]);
  // The view's status is computed: FAILED events are found through the index of failed outcomes.
  if (filter.statuses?.length === 1 && filter.statuses[0] === 'FAILED') {
    query = query.where(sql<boolean>`events.id in (select event_id from event_outcomes
      where organization_id = ${organizationId} and status = 'FAILED')`);
  }
  if (filter.eventType !== undefined) query = query.where('event_type', '=', filter.eventType);
  if (filter.participantId !== undefined) {
    query = query
      .where('participant_id', '=', filter.participantId)
      .where(sql<boolean>`events.id in (${namedBy(organizationId, 'participant_id', filter.participantId)})`);
  }
  if (filter.externalId !== undefined) {
    query = query
      .where('external_id', '=', filter.externalId)
      .where(sql<boolean>`events.id in (${namedBy(organizationId, 'external_id', filter.externalId)})`);
  }
  if (filter.matchedRule !== undefined) query = query.where(filter.matchedRule);
  const participant = filter.participant;
  if (participant !== undefined) {
    query = query
      .where((eb) =>
        eb.or([
          eb('participant_id', '=', participant.id),
          eb.and([eb('participant_id', 'is', null), eb('external_id', '=', participant.externalId)]),
        ]),
      )
      .where(
        sql<boolean>`events.id in (${namedBy(organizationId, 'participant_id', participant.id)}
          union all select id from events
            where organization_id = ${organizationId} and external_id = ${participant.externalId})`,
      );
  }
  if (filter.from !== undefined) query = query.where('created_at', '>=', filter.from);
  if (filter.to !== undefined) query = query.where('created_at', '<=', filter.to);
  if (filter.eventFrom !== undefined) query = query.where('event_timestamp', '>=', filter.eventFrom);
  if (filter.eventTo !== undefined) query = query.where('event_timestamp', '<=', filter.eventTo);
  const rows = await pageInSortOrder(query, filter).execute();
  return rows as EventRow[];
}
