// SQL for participant, group and program state: tags, attributes, counters and the state history.
import { type Generated, sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import { pageInKeyOrder } from '../../platform/db/keyset.js';
import { newId } from '../../platform/ids.js';
import type { ParticipantTable } from './participants.store.js';
import { queueChangedParticipants } from './state-changes.store.js';

export type OwnerType = 'PARTICIPANT' | 'PROGRAM' | 'GROUP';

/** Whose state: a participant, a group or a program of one organization. */
export interface StateOwner {
  organizationId: string;
  type: OwnerType;
  id: string;
}

interface ProgramStateTable {
  organization_id: string;
  program_id: string;
  tags: Generated<string[]>;
  attributes: Generated<Record<string, string>>;
  updated_at: Date;
}

/** The state columns of a group's row (the groups module owns the rest of it). */
interface GroupStateTable {
  organization_id: string;
  id: string;
  status: 'ACTIVE' | 'ARCHIVED';
  tags: string[];
  attributes: Record<string, string>;
  updated_at: Date;
}

export interface CounterTable {
  organization_id: string;
  owner_type: OwnerType;
  owner_id: string;
  key: string;
  /** NUMERIC(38, 18), read as a string with 18 decimals. */
  value: string;
  reset_after: string | null;
  /** BIGINT, read as a string; see database.ts. */
  reset_after_ms: string | null;
  last_reset_at: Date;
  created_at: Date;
  updated_at: Date;
}

export type StateType = 'tag' | 'counter' | 'attribute' | 'tier';
// upgrade, downgrade and expire are tier changes; a manual tier set is 'set', a removal 'delete'.
export type StateOperation =
  | 'set'
  | 'delete'
  | 'add'
  | 'remove'
  | 'auto_reset'
  | 'upgrade'
  | 'downgrade'
  | 'expire';

export interface StateHistoryTable {
  organization_id: string;
  id: string;
  owner_type: OwnerType;
  owner_id: string;
  state_type: StateType;
  key: string;
  operation: StateOperation;
  old_value: string | null;
  new_value: string | null;
  program_id: string | null;
  event_id: string | null;
  event_timestamp: Date | null;
  rule_id: string | null;
  changed_by_api_key_id: string | null;
  changed_by_job: string | null;
  changed_at: Date;
}

type Tables = {
  participants: ParticipantTable;
  groups: GroupStateTable;
  program_states: ProgramStateTable;
  counters: CounterTable;
  state_history: StateHistoryTable;
};

export type CounterRow = CounterTable;
/** What reading a counter's value needs: a claim holds its participants' counters as these. */
export type CounterReading = Pick<
  CounterRow,
  'key' | 'value' | 'reset_after' | 'reset_after_ms' | 'last_reset_at'
>;
export type StateHistoryRow = StateHistoryTable;

/**
 * Tags and attributes: on the participant's or group's row, in program_states for a program.
 * `archived`: the owner is an ARCHIVED group, whose state no longer changes.
 */
export interface TagsAndAttributes {
  tags: string[];
  attributes: Record<string, string>;
  archived?: boolean;
}

const tables = (db: Database) => db.withTables<Tables>();

/** Reads tags and attributes; undefined when the participant or group does not exist (a program has defaults). */
export async function readTagsAndAttributes(
  db: Database,
  owner: StateOwner,
  forUpdate = false,
): Promise<TagsAndAttributes | undefined> {
  if (owner.type === 'GROUP') {
    let query = tables(db)
      .selectFrom('groups')
      .select(['tags', 'attributes', 'status'])
      .where('organization_id', '=', owner.organizationId)
      .where('id', '=', owner.id);
    if (forUpdate) query = query.forUpdate();
    const row = await query.executeTakeFirst();
    return row && { tags: row.tags, attributes: row.attributes, archived: row.status === 'ARCHIVED' };
  }
  if (owner.type === 'PARTICIPANT') {
    let query = tables(db)
      .selectFrom('participants')
      .select(['tags', 'attributes'])
      .where('organization_id', '=', owner.organizationId)
      .where('id', '=', owner.id);
    if (forUpdate) query = query.forUpdate();
    return query.executeTakeFirst();
  }
  let query = tables(db)
    .selectFrom('program_states')
    .select(['tags', 'attributes'])
    .where('organization_id', '=', owner.organizationId)
    .where('program_id', '=', owner.id);
  if (forUpdate) query = query.forUpdate();
  return (await query.executeTakeFirst()) ?? { tags: [], attributes: {} };
}

/** Creates the state row of a program (its program must exist) so that it can be locked. */
export async function ensureProgramState(db: Database, owner: StateOwner, now: Date): Promise<void> {
  await tables(db)
    .insertInto('program_states')
    .values({ organization_id: owner.organizationId, program_id: owner.id, updated_at: now })
    .onConflict((conflict) => conflict.columns(['organization_id', 'program_id']).doNothing())
    .execute();
}

/** The table whose row carries a participant's or group's tags and attributes. */
const holderTable = (owner: StateOwner) => (owner.type === 'GROUP' ? 'groups' : 'participants');

export async function writeTags(db: Database, owner: StateOwner, tags: string[], now: Date): Promise<void> {
  if (owner.type !== 'PROGRAM') {
    await tables(db)
      .updateTable(holderTable(owner))
      .set({ tags, updated_at: now })
      .where('organization_id', '=', owner.organizationId)
      .where('id', '=', owner.id)
      .execute();
    return;
  }
  await tables(db)
    .updateTable('program_states')
    .set({ tags, updated_at: now })
    .where('organization_id', '=', owner.organizationId)
    .where('program_id', '=', owner.id)
    .execute();
}

export async function writeAttributes(
  db: Database,
  owner: StateOwner,
  attributes: Record<string, string>,
  now: Date,
): Promise<void> {
  const json = sql`${JSON.stringify(attributes)}::jsonb`;
  if (owner.type !== 'PROGRAM') {
    await tables(db)
      .updateTable(holderTable(owner))
      .set({ attributes: json as never, updated_at: now })
      .where('organization_id', '=', owner.organizationId)
      .where('id', '=', owner.id)
      .execute();
    return;
  }
  await tables(db)
    .updateTable('program_states')
    .set({ attributes: json as never, updated_at: now })
    .where('organization_id', '=', owner.organizationId)
    .where('program_id', '=', owner.id)
    .execute();
}

export async function listCounters(db: Database, owner: StateOwner): Promise<CounterRow[]> {
  return tables(db)
    .selectFrom('counters')
    .selectAll()
    .where('organization_id', '=', owner.organizationId)
    .where('owner_type', '=', owner.type)
    .where('owner_id', '=', owner.id)
    .orderBy('key')
    .execute();
}

export async function findCounter(
  db: Database,
  owner: StateOwner,
  key: string,
  forUpdate = false,
): Promise<CounterRow | undefined> {
  let query = tables(db)
    .selectFrom('counters')
    .selectAll()
    .where('organization_id', '=', owner.organizationId)
    .where('owner_type', '=', owner.type)
    .where('owner_id', '=', owner.id)
    .where('key', '=', key);
  if (forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

export async function countCounters(db: Database, owner: StateOwner): Promise<number> {
  const row = await tables(db)
    .selectFrom('counters')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('organization_id', '=', owner.organizationId)
    .where('owner_type', '=', owner.type)
    .where('owner_id', '=', owner.id)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function saveCounter(db: Database, row: CounterRow): Promise<void> {
  await tables(db)
    .insertInto('counters')
    .values(row)
    .onConflict((conflict) =>
      conflict.columns(['organization_id', 'owner_type', 'owner_id', 'key']).doUpdateSet({
        value: row.value,
        reset_after: row.reset_after,
        reset_after_ms: row.reset_after_ms,
        last_reset_at: row.last_reset_at,
        updated_at: row.updated_at,
      }),
    )
    .execute();
}

export async function deleteCounter(
  db: Database,
  owner: StateOwner,
  key: string,
): Promise<CounterRow | undefined> {
  return tables(db)
    .deleteFrom('counters')
    .where('organization_id', '=', owner.organizationId)
    .where('owner_type', '=', owner.type)
    .where('owner_id', '=', owner.id)
    .where('key', '=', key)
    .returningAll()
    .executeTakeFirst();
}

/** A change as written: its id is given by the set it is stored in (see historySets). */
export type StateHistoryChange = Omit<StateHistoryRow, 'id'>;

/** A row of state_history_sets: the changes one source made to one owner at one time. */
interface StateHistorySet {
  change: StateHistoryChange;
  id: string;
  changes: unknown[][];
}

/** A set holds at most this many changes: its changes' ids are its id plus their position in its last byte. */
const historySetSize = 256;

/** A new set's id: time-ordered like every id, with a last byte of 0 for its changes' positions. */
function newHistorySetId(): string {
  return `${newId().slice(0, 34)}00`;
}

/** Whether two changes go in one set: same owner, source and time (the rule may differ). */
function sameSet(a: StateHistoryChange, b: StateHistoryChange): boolean {
  return (
    a.organization_id === b.organization_id &&
    a.owner_id === b.owner_id &&
    a.owner_type === b.owner_type &&
    a.changed_at.getTime() === b.changed_at.getTime() &&
    a.program_id === b.program_id &&
    a.event_id === b.event_id &&
    a.changed_by_api_key_id === b.changed_by_api_key_id &&
    a.changed_by_job === b.changed_by_job
  );
}

/** Groups changes into sets, each set's changes in the order they were made, sets in order of their first change. */
function historySets(changes: StateHistoryChange[]): StateHistorySet[] {
  const open = new Map<string, StateHistorySet>();
  const sets: StateHistorySet[] = [];
  for (const change of changes) {
    const owner = `${change.owner_id}/${change.event_id ?? ''}`;
    let set = open.get(owner);
    if (set === undefined || !sameSet(set.change, change) || set.changes.length === historySetSize) {
      set = { change, id: newHistorySetId(), changes: [] };
      open.set(owner, set);
      sets.push(set);
    }
    set.changes.push([
      change.state_type,
      change.key,
      change.operation,
      change.old_value,
      change.new_value,
      change.rule_id,
    ]);
  }
  return sets;
}

/**
 * One statement however many changes (each column goes as one array parameter): writes them as
 * state history sets and, in the same statement, queues the participants they name for the
 * re-evaluation of participant_state automations (see queueStateChanges). Every change of tags,
 * attributes, counters and tier levels, by the API, an event or a job, passes here.
 */
export async function insertHistory(db: Database, changes: StateHistoryChange[]): Promise<void> {
  if (changes.length === 0) return;
  const sets = historySets(changes);
  const column = <T>(value: (set: StateHistorySet) => T) => sets.map(value);
  await sql`with history as (insert into state_history_sets (organization_id, owner_id, id, program_id,
      event_id, changed_by_api_key_id, changed_at, event_timestamp, owner_type, changed_by_job, changes)
    select * from unnest(${column((set) => set.change.organization_id)}::uuid[],
      ${column((set) => set.change.owner_id)}::uuid[], ${column((set) => set.id)}::uuid[],
      ${column((set) => set.change.program_id)}::uuid[], ${column((set) => set.change.event_id)}::uuid[],
      ${column((set) => set.change.changed_by_api_key_id)}::uuid[],
      ${column((set) => set.change.changed_at)}::timestamptz[],
      ${column((set) => set.change.event_timestamp)}::timestamptz[],
      ${column((set) => set.change.owner_type)}::state_owner_type[],
      ${column((set) => set.change.changed_by_job)}::text[],
      ${column((set) => JSON.stringify(set.changes))}::json[])
    returning organization_id, owner_id, owner_type)
    ${queueChangedParticipants(sql`select distinct organization_id, owner_id from history where owner_type = 'PARTICIPANT'`)}`.execute(
    db,
  );
}

export interface StateHistoryFilter {
  stateType: StateType | undefined;
  key: string | undefined;
  programId: string | undefined;
  operation: StateOperation | undefined;
  from: Date | undefined;
  to: Date | undefined;
  eventFrom: Date | undefined;
  eventTo: Date | undefined;
  after: [unknown, unknown] | undefined;
  limit: number;
}

/** Newest first; event_from/event_to compare the event's timestamp, or changed_at for API changes. */
export async function listHistory(db: Database, owner: StateOwner, filter: StateHistoryFilter) {
  let query = tables(db)
    .selectFrom('state_history')
    .selectAll()
    .where('organization_id', '=', owner.organizationId)
    .where('owner_type', '=', owner.type)
    .where('owner_id', '=', owner.id);
  if (filter.stateType !== undefined) query = query.where('state_type', '=', filter.stateType);
  if (filter.key !== undefined) query = query.where('key', '=', filter.key);
  if (filter.programId !== undefined) query = query.where('program_id', '=', filter.programId);
  if (filter.operation !== undefined) query = query.where('operation', '=', filter.operation);
  if (filter.from !== undefined) query = query.where('changed_at', '>=', filter.from);
  if (filter.to !== undefined) query = query.where('changed_at', '<=', filter.to);
  const eventTime = sql<Date>`coalesce(event_timestamp, changed_at)`;
  if (filter.eventFrom !== undefined) query = query.where(eventTime, '>=', filter.eventFrom);
  if (filter.eventTo !== undefined) query = query.where(eventTime, '<=', filter.eventTo);
  // A change's id is computed by the view: the page starts at its time through the primary key.
  if (filter.after !== undefined) query = query.where(sql<boolean>`changed_at <= ${filter.after[0]}`);
  return pageInKeyOrder(query, {
    column: 'changed_at',
    direction: 'desc',
    after: filter.after,
    limit: filter.limit,
  }).execute();
}
