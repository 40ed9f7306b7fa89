// Participant state held in memory for one claim of events: loaded for every participant of the
// claim in one statement, read by rules, changed by the plain state actions (COUNTER, TAG) through
// one draft per event, and written once for the whole claim. The caller holds the participants'
// row locks for the whole transaction, and every other state write locks that row first, so nothing
// changes the state underneath. A draft that fails is dropped and leaves the held state as it was.
import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import { formatCounterValue } from '../../platform/money.js';
import type { ParticipantRow, ParticipantStatus } from './participants.store.js';
import {
  type CounterIncrementInput,
  effectiveCounterUnits,
  historyRows,
  incrementedCounter,
  normalizeTag,
  parseCounterIncrement,
  type RuleState,
  type StateChange,
  type StateSource,
  tagAdded,
  tagsWith,
} from './state.service.js';
import type { CounterReading, CounterRow, StateHistoryChange, StateOwner } from './state.store.js';
import * as store from './state.store.js';

export interface HeldState {
  owner: StateOwner;
  status: ParticipantStatus;
  tags: string[];
  attributes: Record<string, string>;
  counters: Map<string, CounterReading>;
}

/** The held state of each participant, by id: their rows as locked, and their counters' values. */
export async function loadHeldStates(
  db: Database,
  participants: ParticipantRow[],
): Promise<Map<string, HeldState>> {
  const held = new Map(participants.map((row) => [row.id, heldStateOf(row)]));
  if (participants.length === 0) return held;
  const ids = participants.map((row) => row.id);
  const organizations = participants.map((row) => row.organization_id);
  const { rows } = await sql<CounterReading & { owner_id: string }>`select c.owner_id, c.key, c.value,
      c.reset_after, c.reset_after_ms, c.last_reset_at from counters c
    join unnest(${organizations}::uuid[], ${ids}::uuid[]) as p(organization_id, id)
      on c.organization_id = p.organization_id and c.owner_id = p.id
    where c.owner_type = 'PARTICIPANT'`.execute(db);
  for (const { owner_id: ownerId, ...row } of rows) held.get(ownerId)?.counters.set(row.key, row);
  return held;
}

/** The held state of a participant row, without counters (a new participant has none). */
export function heldStateOf(row: ParticipantRow): HeldState {
  return {
    owner: { organizationId: row.organization_id, type: 'PARTICIPANT', id: row.id },
    status: row.status,
    tags: row.tags,
    attributes: row.attributes,
    counters: new Map(),
  };
}

/** A program's state held for a claim: rules read it; the batch never changes it. */
export async function loadProgramHeldState(
  db: Database,
  organizationId: string,
  programId: string,
): Promise<HeldState> {
  const owner: StateOwner = { organizationId, type: 'PROGRAM', id: programId };
  const [state, counters] = await Promise.all([
    store.readTagsAndAttributes(db, owner),
    store.listCounters(db, owner),
  ]);
  return {
    owner,
    status: 'ACTIVE',
    tags: state?.tags ?? [],
    attributes: state?.attributes ?? {},
    counters: new Map(counters.map((row) => [row.key, row])),
  };
}

/** What rules read of a held owner, with counters as they read at `at`. */
export function heldRuleState(held: HeldState, at: Date): RuleState & { status: ParticipantStatus } {
  const counterValues = heldCounterValues(held, at);
  const counters = Object.fromEntries(
    Object.entries(counterValues).map(([key, value]) => [key, Number(value)]),
  );
  return { status: held.status, tags: held.tags, attributes: held.attributes, counters, counterValues };
}

/** Counter values as exact decimal strings, effective at `at`. */
export function heldCounterValues(held: HeldState, at: Date): Record<string, string> {
  const values: Record<string, string> = {};
  const keys = [...held.counters.keys()].sort();
  for (const key of keys) {
    const row = held.counters.get(key) as CounterRow;
    values[key] = formatCounterValue(effectiveCounterUnits(row, at));
  }
  return values;
}

/** One event's changes to one held participant, applied to the held state only by `commitDraft`. */
export interface StateDraft {
  held: HeldState;
  tags: string[];
  counters: Map<string, CounterReading>;
  /** The rows to write: the counters the event changed. */
  changedCounters: Map<string, CounterRow>;
  history: StateHistoryChange[];
}

export function startDraft(held: HeldState): StateDraft {
  return { held, tags: held.tags, counters: new Map(held.counters), changedCounters: new Map(), history: [] };
}

/** The COUNTER action on a draft, by the rule incrementCounter applies; throws as it would. */
export function draftIncrement(draft: StateDraft, input: Omit<CounterIncrementInput, 'owner'>): void {
  const stored = { row: draft.counters.get(input.key), count: draft.counters.size };
  const next = incrementedCounter(draft.held.owner, stored, parseCounterIncrement(input));
  draft.counters.set(input.key, next.row);
  draft.changedCounters.set(input.key, next.row);
  record(draft, input.source, input.now, next.changes);
}

/** The TAG action on a draft, by the rule applyTag applies; an existing tag changes nothing. */
export function draftTag(draft: StateDraft, input: { tag: string; source: StateSource; now: Date }): void {
  const tag = normalizeTag(input.tag);
  const tags = tagsWith(draft.held.owner, draft.tags, tag);
  if (tags === draft.tags) return;
  draft.tags = tags;
  record(draft, input.source, input.now, [tagAdded(tag)]);
}

function record(draft: StateDraft, source: StateSource, now: Date, changes: StateChange[]): void {
  draft.history.push(...historyRows(draft.held.owner, source, now, changes));
}

/** Counter values of a draft at `at`, as tier qualification reads them after the event. */
export function draftCounterValues(draft: StateDraft, at: Date): Record<string, string> {
  return heldCounterValues({ ...draft.held, counters: draft.counters }, at);
}

/** State writes of a claim, collected from committed drafts and written by `saveStateWrites`. */
export interface StateWrites {
  counters: Map<string, CounterRow>;
  tags: Map<string, { owner: StateOwner; tags: string[]; now: Date }>;
  history: StateHistoryChange[];
}

export function emptyStateWrites(): StateWrites {
  return { counters: new Map(), tags: new Map(), history: [] };
}

/** Makes the draft the held state and queues its writes. */
export function commitDraft(draft: StateDraft, writes: StateWrites, now: Date): void {
  const { held } = draft;
  for (const [key, row] of draft.changedCounters) writes.counters.set(`${held.owner.id}:${key}`, row);
  if (draft.tags !== held.tags) writes.tags.set(held.owner.id, { owner: held.owner, tags: draft.tags, now });
  writes.history.push(...draft.history);
  held.counters = draft.counters;
  held.tags = draft.tags;
}

/** Writes the queued state of a claim: one statement per table, and empties the queue. */
export async function saveStateWrites(db: Database, writes: StateWrites): Promise<void> {
  await saveCounters(db, [...writes.counters.values()]);
  await saveTags(db, [...writes.tags.values()]);
  await store.insertHistory(db, writes.history);
  writes.counters.clear();
  writes.tags.clear();
  writes.history.length = 0;
}

async function saveCounters(db: Database, rows: CounterRow[]): Promise<void> {
  if (rows.length === 0) return;
  const column = <K extends keyof CounterRow>(key: K) => rows.map((row) => row[key]);
  await sql`insert into counters (organization_id, owner_type, owner_id, key, value, reset_after,
      reset_after_ms, last_reset_at, created_at, updated_at)
    select * from unnest(${column('organization_id')}::uuid[], ${column('owner_type')}::text[],
      ${column('owner_id')}::uuid[], ${column('key')}::text[], ${column('value')}::numeric[],
      ${column('reset_after')}::text[], ${column('reset_after_ms')}::bigint[],
      ${column('last_reset_at')}::timestamptz[], ${column('created_at')}::timestamptz[],
      ${column('updated_at')}::timestamptz[])
    on conflict (organization_id, owner_type, owner_id, key) do update set value = excluded.value,
      reset_after = excluded.reset_after, reset_after_ms = excluded.reset_after_ms,
      last_reset_at = excluded.last_reset_at, updated_at = excluded.updated_at`.execute(db);
}

async function saveTags(db: Database, updates: { owner: StateOwner; tags: string[]; now: Date }[]) {
  if (updates.length === 0) return;
  await sql`update participants p set tags = array(select jsonb_array_elements_text(u.tags::jsonb)), updated_at = u.updated_at
    from unnest(${updates.map((u) => u.owner.organizationId)}::uuid[], ${updates.map((u) => u.owner.id)}::uuid[],
      ${updates.map((u) => JSON.stringify(u.tags))}::text[], ${updates.map((u) => u.now)}::timestamptz[])
      as u(organization_id, id, tags, updated_at)
    where p.organization_id = u.organization_id and p.id = u.id`.execute(db);
}
