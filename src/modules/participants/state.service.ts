// Changes to participant and program state (tags, counters, attributes), each recorded in the state
// history with its source. The apply functions run inside the caller's database transaction: the
// event processor calls them from its own, the API wrappers in state-api.service.ts from theirs.
// Every change first locks its owner's row, so changes to one owner's state apply one at a time.
import { assert } from '../../platform/assert.js';
import type { Database } from '../../platform/db/database.js';
import { parseDurationMs } from '../../platform/duration.js';
import { DomainError, invalidField, notFound } from '../../platform/errors.js';
import {
  attributeKeyLengthMax,
  attributesPerParticipantMax,
  attributesPerProgramMax,
  attributeValueLengthMax,
  counterKeyLengthMax,
  countersPerOwnerMax,
  tagLengthMax,
  tagsPerParticipantMax,
  tagsPerProgramMax,
} from '../../platform/limits.js';
import { formatCounterValue, isCounterValueInRange, parseCounterValue } from '../../platform/money.js';
import { findProgramRow } from '../programs/index.js';
import { isResetDue } from './counter-reset.js';
import { findParticipant, type ParticipantStatus } from './participants.store.js';
import type {
  CounterReading,
  CounterRow,
  StateHistoryChange,
  StateOwner,
  StateType,
  TagsAndAttributes,
} from './state.store.js';
import * as store from './state.store.js';
import { normalizeTags } from './tags.js';

export type { OwnerType, StateOwner } from './state.store.js';

/**
 * Who caused a change: an event (and the rule that acted, if any), a direct API call, or a background
 * job (the tier lifecycle), which acts on its own schedule.
 */
export type StateSource =
  | { eventId: string; eventTimestamp: Date; ruleId?: string | undefined; programId?: string | undefined }
  | { apiKeyId: string; programId?: string | undefined }
  | { job: string; programId?: string | undefined };

/** Counter values as the participant view shows them: effective at `now`, exact decimal strings. */
export async function listCounterValues(
  db: Database,
  owner: StateOwner,
  now: Date,
): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const row of await store.listCounters(db, owner))
    values[row.key] = formatCounterValue(effectiveCounterUnits(row, now));
  return values;
}

export interface CounterView {
  key: string;
  value: string;
  reset_after: string | null;
  last_reset_at: string;
}

export interface StateChange {
  stateType: StateType;
  key: string;
  operation: StateHistoryChange['operation'];
  oldValue: string | null;
  newValue: string | null;
}

/** Records changes; `now` is when they happened (the processor's clock, not the event's time). */
export async function recordStateChanges(
  db: Database,
  owner: StateOwner,
  source: StateSource,
  now: Date,
  changes: StateChange[],
): Promise<void> {
  await recordHistoryRows(db, historyRows(owner, source, now, changes));
}

/** Stores history rows built by historyRows, of any owners, in one statement. */
export async function recordHistoryRows(db: Database, rows: StateHistoryChange[]): Promise<void> {
  await store.insertHistory(db, rows);
}

export function historyRows(
  owner: StateOwner,
  source: StateSource,
  now: Date,
  changes: StateChange[],
): StateHistoryChange[] {
  const fromEvent = 'eventId' in source;
  const programId = owner.type === 'PROGRAM' ? owner.id : (source.programId ?? null);
  return changes.map((change) => ({
    organization_id: owner.organizationId,
    owner_type: owner.type,
    owner_id: owner.id,
    state_type: change.stateType,
    key: change.key,
    operation: change.operation,
    old_value: change.oldValue,
    new_value: change.newValue,
    program_id: programId,
    event_id: fromEvent ? source.eventId : null,
    event_timestamp: fromEvent ? source.eventTimestamp : null,
    rule_id: fromEvent ? (source.ruleId ?? null) : null,
    changed_by_api_key_id: 'apiKeyId' in source ? source.apiKeyId : null,
    changed_by_job: 'job' in source ? source.job : null,
    changed_at: now,
  }));
}

/** Checks the owner exists (another organization's is 404) and reads its tags and attributes. */
export async function readOwnerState(db: Database, owner: StateOwner): Promise<TagsAndAttributes> {
  if (owner.type === 'PROGRAM') await findProgramRow(db, owner.organizationId, owner.id);
  const state = await store.readTagsAndAttributes(db, owner);
  if (state === undefined) throw notFound(owner.type.toLowerCase());
  return state;
}

/** Like readOwnerState, and locks the owner's state row for the rest of the transaction. */
async function lockOwner(trx: Database, owner: StateOwner, now: Date): Promise<TagsAndAttributes> {
  if (owner.type === 'PROGRAM') {
    await findProgramRow(trx, owner.organizationId, owner.id);
    await store.ensureProgramState(trx, owner, now);
  }
  const state = await store.readTagsAndAttributes(trx, owner, true);
  if (state === undefined) throw notFound(owner.type.toLowerCase());
  if (state.archived === true)
    throw new DomainError('group_archived', 'the group is archived; its state no longer changes');
  return state;
}

export function normalizeTag(tag: string): string {
  const [normalized = ''] = normalizeTags([tag]);
  if (normalized === '' || normalized.length > tagLengthMax)
    throw invalidField('tag', `a tag has 1 to ${tagLengthMax} characters besides surrounding spaces`);
  return normalized;
}

export function tagsMax(owner: StateOwner): number {
  return owner.type === 'PROGRAM' ? tagsPerProgramMax : tagsPerParticipantMax;
}

export interface TagInput {
  owner: StateOwner;
  tag: string;
  source: StateSource;
  now: Date;
}

/** Adds a tag (lower-cased); answers whether it was new. An existing tag changes nothing. */
export async function applyTag(trx: Database, input: TagInput): Promise<{ tag: string; added: boolean }> {
  const tag = normalizeTag(input.tag);
  const state = await lockOwner(trx, input.owner, input.now);
  const tags = tagsWith(input.owner, state.tags, tag);
  if (tags === state.tags) return { tag, added: false };
  await store.writeTags(trx, input.owner, tags, input.now);
  await recordStateChanges(trx, input.owner, input.source, input.now, [tagAdded(tag)]);
  return { tag, added: true };
}

/**
 * The TAG rule, for the API, the event engine's database path and its in-memory drafts alike: the
 * owner's tags with the normalized `tag` added (the same array when it is there already), within the
 * owner's limit.
 */
export function tagsWith(owner: StateOwner, tags: string[], tag: string): string[] {
  if (tags.includes(tag)) return tags;
  if (tags.length >= tagsMax(owner))
    throw invalidField('tag', `at most ${tagsMax(owner)} tags are allowed`, 'too_many');
  return [...tags, tag];
}

export function tagAdded(tag: string): StateChange {
  return { stateType: 'tag', key: tag, operation: 'add', oldValue: null, newValue: tag };
}

function tagRemoved(tag: string): StateChange {
  return { stateType: 'tag', key: tag, operation: 'remove', oldValue: tag, newValue: null };
}

/** Removes a tag; answers whether it was there. A missing tag changes nothing. */
export async function applyUntag(trx: Database, input: TagInput): Promise<{ tag: string; removed: boolean }> {
  const tag = normalizeTag(input.tag);
  const state = await lockOwner(trx, input.owner, input.now);
  if (!state.tags.includes(tag)) return { tag, removed: false };
  await store.writeTags(
    trx,
    input.owner,
    state.tags.filter((existing) => existing !== tag),
    input.now,
  );
  await recordStateChanges(trx, input.owner, input.source, input.now, [tagRemoved(tag)]);
  return { tag, removed: true };
}

export interface ReplaceTagsInput {
  owner: StateOwner;
  tags: string[];
  source: StateSource;
  now: Date;
}

/** Replaces the whole tag set, recording an add or remove for each tag that differs. */
export async function replaceTags(trx: Database, input: ReplaceTagsInput): Promise<string[]> {
  const tags = normalizeTags(input.tags.map(normalizeTag));
  if (tags.length > tagsMax(input.owner))
    throw invalidField('tags', `at most ${tagsMax(input.owner)} tags are allowed`, 'too_many');
  const state = await lockOwner(trx, input.owner, input.now);
  const changes = [
    ...state.tags.filter((tag) => !tags.includes(tag)).map(tagRemoved),
    ...tags.filter((tag) => !state.tags.includes(tag)).map(tagAdded),
  ];
  if (changes.length > 0) {
    await store.writeTags(trx, input.owner, tags, input.now);
    await recordStateChanges(trx, input.owner, input.source, input.now, changes);
  }
  return tags;
}

export interface ResetAfter {
  text: string;
  ms: number;
}

/** A Go duration, or null for "" (which removes auto-reset). */
export function parseResetAfter(text: string): ResetAfter | null {
  if (text === '') return null;
  const ms = parseDurationMs(text);
  if (ms === undefined)
    throw invalidField(
      'reset_after',
      'must be a Go duration such as "24h", "90m" or "1h30m", or "" to remove it',
    );
  return { text, ms };
}

export function parseCounterInput(field: string, text: string): bigint {
  const units = parseCounterValue(text);
  if (units === undefined)
    throw invalidField(field, `must be a decimal string such as "12" or "-0.5", not "${text}"`);
  return units;
}

function resetAfterOf(row: CounterReading): ResetAfter | null {
  return row.reset_after === null ? null : { text: row.reset_after, ms: Number(row.reset_after_ms) };
}

function storedUnits(row: CounterReading): bigint {
  const units = parseCounterValue(row.value);
  assert(units !== undefined, `counter ${row.key} holds a value that is not a decimal`);
  return units;
}

/** The value a counter reads as at `now`: 0 once its reset_after has passed since last_reset_at. */
export function effectiveCounterUnits(row: CounterReading, now: Date): bigint {
  return isResetDue(resetAfterOf(row)?.ms ?? null, row.last_reset_at, now) ? 0n : storedUnits(row);
}

export function toCounterView(row: CounterRow, now: Date): CounterView {
  return {
    key: row.key,
    value: formatCounterValue(effectiveCounterUnits(row, now)),
    reset_after: row.reset_after,
    last_reset_at: row.last_reset_at.toISOString(),
  };
}

/** A counter about to be written: its effective value, after a due auto-reset is applied and recorded. */
interface CounterForWrite {
  exists: boolean;
  units: bigint;
  resetAfter: ResetAfter | null;
  lastResetAt: Date;
  changes: StateChange[];
}

/** A counter as stored (undefined: none yet), and how many counters its owner has when it is new. */
interface StoredCounter {
  row: CounterReading | undefined;
  count: number;
}

/** Reads the counter for a write, locked; the owner's counters are counted only when it is new. */
async function readStoredCounter(trx: Database, owner: StateOwner, key: string): Promise<StoredCounter> {
  checkCounterKey(key);
  const row = await store.findCounter(trx, owner, key, true);
  return { row, count: row === undefined ? await store.countCounters(trx, owner) : 0 };
}

function checkCounterKey(key: string): void {
  if (key.length < 1 || key.length > counterKeyLengthMax)
    throw invalidField('key', `a counter key has 1 to ${counterKeyLengthMax} characters`);
}

function tooManyCounters() {
  return invalidField('key', `at most ${countersPerOwnerMax} counters are allowed`, 'too_many');
}

/**
 * The stored counter as a write starts from it at `now` on the reset_after clock: within the owner's
 * limit of counters, a due reset applied, and a new or reset window starting at `now`.
 */
function counterForWrite(stored: StoredCounter, key: string, now: Date): CounterForWrite {
  checkCounterKey(key);
  const { row } = stored;
  if (row === undefined && stored.count >= countersPerOwnerMax) throw tooManyCounters();
  if (row === undefined) return { exists: false, units: 0n, resetAfter: null, lastResetAt: now, changes: [] };
  const resetAfter = resetAfterOf(row);
  if (!isResetDue(resetAfter?.ms ?? null, row.last_reset_at, now)) {
    return { exists: true, units: storedUnits(row), resetAfter, lastResetAt: row.last_reset_at, changes: [] };
  }
  const reset: StateChange = {
    stateType: 'counter',
    key,
    operation: 'auto_reset',
    oldValue: formatCounterValue(storedUnits(row)),
    newValue: '0',
  };
  return { exists: true, units: 0n, resetAfter, lastResetAt: now, changes: [reset] };
}

async function saveCounter(
  trx: Database,
  owner: StateOwner,
  key: string,
  counter: Pick<CounterForWrite, 'units' | 'resetAfter' | 'lastResetAt'>,
  now: Date,
): Promise<CounterRow> {
  const row = counterRow(owner, key, counter, now);
  await store.saveCounter(trx, row);
  return row;
}

export function counterRow(
  owner: StateOwner,
  key: string,
  counter: Pick<CounterForWrite, 'units' | 'resetAfter' | 'lastResetAt'>,
  now: Date,
): CounterRow {
  if (!isCounterValueInRange(counter.units))
    throw invalidField('value', 'the counter would leave the range of 20 integer and 18 fractional digits');
  return {
    organization_id: owner.organizationId,
    owner_type: owner.type,
    owner_id: owner.id,
    key,
    value: formatCounterValue(counter.units),
    reset_after: counter.resetAfter?.text ?? null,
    reset_after_ms: counter.resetAfter === null ? null : String(counter.resetAfter.ms),
    last_reset_at: counter.lastResetAt,
    created_at: now,
    updated_at: now,
  };
}

export interface CounterIncrementInput {
  owner: StateOwner;
  key: string;
  /** A decimal string; negative decrements. */
  by: string;
  /** Sets the auto-reset window when given ("" removes it); it does not restart the window. */
  resetAfter?: string | undefined;
  source: StateSource;
  /** When the write happens (row and history timestamps). */
  now: Date;
  /** The clock of reset_after: the event's timestamp, as the rules read the counter. */
  at: Date;
}

/**
 * The COUNTER action: adds `by` to the effective value, creating the counter at 0 when missing. A due
 * auto-reset is applied first (recorded as auto_reset); a new or reset counter's window starts at
 * `at`, the event's timestamp, so a replay of the same events resets at the same points.
 */
export async function incrementCounter(trx: Database, input: CounterIncrementInput): Promise<CounterView> {
  const increment = parseCounterIncrement(input);
  await lockOwner(trx, input.owner, input.now);
  const stored = await readStoredCounter(trx, input.owner, input.key);
  const next = incrementedCounter(input.owner, stored, increment);
  await store.saveCounter(trx, next.row);
  await recordStateChanges(trx, input.owner, input.source, input.now, next.changes);
  return toCounterView(next.row, input.now);
}

/** An increment with its values parsed: `by` in units; resetAfter undefined keeps the setting. */
interface CounterIncrement {
  key: string;
  by: bigint;
  resetAfter: ResetAfter | null | undefined;
  at: Date;
  now: Date;
}

export function parseCounterIncrement(
  input: Omit<CounterIncrementInput, 'owner' | 'source'>,
): CounterIncrement {
  return {
    key: input.key,
    by: parseCounterInput('value', input.by),
    resetAfter: input.resetAfter === undefined ? undefined : parseResetAfter(input.resetAfter),
    at: input.at,
    now: input.now,
  };
}

/**
 * The COUNTER rule, for the API, the event engine's database path and its in-memory drafts alike:
 * the counter's row after the increment, and the history it records (a due auto-reset, then the add).
 */
export function incrementedCounter(
  owner: StateOwner,
  stored: StoredCounter,
  increment: CounterIncrement,
): { row: CounterRow; changes: StateChange[] } {
  const { key, resetAfter, now } = increment;
  const current = counterForWrite(stored, key, increment.at);
  const row = counterRow(
    owner,
    key,
    {
      units: current.units + increment.by,
      resetAfter: resetAfter === undefined ? current.resetAfter : resetAfter,
      lastResetAt: current.lastResetAt,
    },
    now,
  );
  const add: StateChange = {
    stateType: 'counter',
    key,
    operation: 'add',
    oldValue: current.exists ? formatCounterValue(current.units) : null,
    newValue: row.value,
  };
  return { row, changes: [...current.changes, add] };
}

export interface CounterSetInput {
  owner: StateOwner;
  key: string;
  value: string;
  /** "" removes auto-reset; undefined keeps the current setting. */
  resetAfter?: string | undefined;
  source: StateSource;
  now: Date;
}

/** Sets an absolute value, creating the counter when missing; restarts the auto-reset window. */
export async function setCounter(trx: Database, input: CounterSetInput): Promise<CounterView> {
  const units = parseCounterInput('value', input.value);
  const resetAfter = input.resetAfter === undefined ? undefined : parseResetAfter(input.resetAfter);
  await lockOwner(trx, input.owner, input.now);
  const current = counterForWrite(await readStoredCounter(trx, input.owner, input.key), input.key, input.now);
  const row = await saveCounter(
    trx,
    input.owner,
    input.key,
    { units, resetAfter: resetAfter === undefined ? current.resetAfter : resetAfter, lastResetAt: input.now },
    input.now,
  );
  await recordStateChanges(trx, input.owner, input.source, input.now, [
    ...current.changes,
    {
      stateType: 'counter',
      key: input.key,
      operation: 'set',
      oldValue: current.exists ? formatCounterValue(current.units) : null,
      newValue: row.value,
    },
  ]);
  return toCounterView(row, input.now);
}

export interface KeyInput {
  owner: StateOwner;
  key: string;
  source: StateSource;
  now: Date;
}

/** Deletes a counter for good (a later increment starts again from 0); answers whether it existed. */
export async function deleteCounter(trx: Database, input: KeyInput): Promise<boolean> {
  await lockOwner(trx, input.owner, input.now);
  const deleted = await store.deleteCounter(trx, input.owner, input.key);
  if (deleted === undefined) return false;
  await recordStateChanges(trx, input.owner, input.source, input.now, [
    {
      stateType: 'counter',
      key: input.key,
      operation: 'delete',
      oldValue: formatCounterValue(effectiveCounterUnits(deleted, input.now)),
      newValue: null,
    },
  ]);
  return true;
}

function attributesMax(owner: StateOwner): number {
  return owner.type === 'PROGRAM' ? attributesPerProgramMax : attributesPerParticipantMax;
}

function checkAttribute(key: string, value: string): void {
  if (key.length < 1 || key.length > attributeKeyLengthMax)
    throw invalidField('key', `an attribute key has 1 to ${attributeKeyLengthMax} characters`);
  if (value.length > attributeValueLengthMax)
    throw invalidField(key, `an attribute value has at most ${attributeValueLengthMax} characters`);
}

export interface AttributesMergeInput {
  owner: StateOwner;
  attributes: Record<string, string>;
  source: StateSource;
  now: Date;
}

/** Adds or overwrites the given keys and leaves the others; records each key whose value changed. */
export async function mergeAttributes(
  trx: Database,
  input: AttributesMergeInput,
): Promise<Record<string, string>> {
  for (const [key, value] of Object.entries(input.attributes)) checkAttribute(key, value);
  const state = await lockOwner(trx, input.owner, input.now);
  const merged = { ...state.attributes, ...input.attributes };
  if (Object.keys(merged).length > attributesMax(input.owner))
    throw invalidField(
      'attributes',
      `at most ${attributesMax(input.owner)} attributes are allowed`,
      'too_many',
    );
  const changes = Object.entries(input.attributes)
    .filter(([key, value]) => state.attributes[key] !== value)
    .map(
      ([key, value]): StateChange => ({
        stateType: 'attribute',
        key,
        operation: 'set',
        oldValue: state.attributes[key] ?? null,
        newValue: value,
      }),
    );
  if (changes.length > 0) {
    await store.writeAttributes(trx, input.owner, merged, input.now);
    await recordStateChanges(trx, input.owner, input.source, input.now, changes);
  }
  return merged;
}

export interface AttributeSetInput {
  owner: StateOwner;
  key: string;
  value: string;
  source: StateSource;
  now: Date;
}

/** The SET_ATTRIBUTE action and PUT: creates or overwrites one key. */
export async function setAttribute(trx: Database, input: AttributeSetInput): Promise<void> {
  await mergeAttributes(trx, { ...input, attributes: { [input.key]: input.value } });
}

/** Removes one key; answers whether it existed. */
export async function deleteAttribute(trx: Database, input: KeyInput): Promise<boolean> {
  const state = await lockOwner(trx, input.owner, input.now);
  const oldValue = state.attributes[input.key];
  if (oldValue === undefined) return false;
  const { [input.key]: _removed, ...rest } = state.attributes;
  await store.writeAttributes(trx, input.owner, rest, input.now);
  await recordStateChanges(trx, input.owner, input.source, input.now, [
    { stateType: 'attribute', key: input.key, operation: 'delete', oldValue, newValue: null },
  ]);
  return true;
}

/** State as rules read it: counters as numbers for CEL, with the exact strings beside them. */
export interface RuleState {
  tags: string[];
  attributes: Record<string, string>;
  counters: Record<string, number>;
  counterValues: Record<string, string>;
}

async function loadRuleState(db: Database, owner: StateOwner, now: Date, known?: TagsAndAttributes) {
  const [state, counterValues] = await Promise.all([
    known ?? store.readTagsAndAttributes(db, owner),
    listCounterValues(db, owner, now),
  ]);
  assert(state !== undefined, 'rule state is read for an owner that exists');
  const counters = Object.fromEntries(
    Object.entries(counterValues).map(([key, value]) => [key, Number(value)]),
  );
  return { tags: state.tags, attributes: state.attributes, counters, counterValues } satisfies RuleState;
}

/**
 * Everything rules read about a participant and its program, with counters as they read at `now`
 * (lazy resets applied in the view, not written). Takes no lock: the caller serializes events.
 */
export async function loadStateForRules(
  trx: Database,
  organizationId: string,
  participantId: string,
  programId: string,
  now: Date,
): Promise<{ participant: RuleState & { status: ParticipantStatus }; program: RuleState }> {
  const participantRow = await findParticipant(trx, organizationId, participantId);
  if (participantRow === undefined) throw notFound('participant');
  const [participant, program] = await Promise.all([
    loadRuleState(trx, { organizationId, type: 'PARTICIPANT', id: participantId }, now, participantRow),
    loadRuleState(trx, { organizationId, type: 'PROGRAM', id: programId }, now),
  ]);
  return { participant: { ...participant, status: participantRow.status }, program };
}
