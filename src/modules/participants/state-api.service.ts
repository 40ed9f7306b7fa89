// The state endpoints of participants and programs: each write is one transaction around an apply
// function of state.service.ts, with the calling API key as its source.
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { notFound } from '../../platform/errors.js';
import { decodeKeyset, type PageResult, toPage } from '../../platform/http/pagination.js';
import { stateHistoryPageSizeDefault } from '../../platform/limits.js';
import { readOptionalTimestamp } from '../../platform/timestamp.js';
import type { SetCounterBody, StateHistoryEntry, StateHistoryQuery } from './state.schemas.js';
import * as state from './state.service.js';
import type { StateHistoryRow, StateOwner } from './state.store.js';
import * as store from './state.store.js';

/** State lists are bounded by their limits, so they come whole in one page. */
const onePage = { has_more: false, next_cursor: null } as const;

export interface WriteContext {
  db: Database;
  clock: Clock;
  apiKeyId: string;
}

function change<T>(
  context: WriteContext,
  work: (trx: Database, source: state.StateSource, now: Date) => Promise<T>,
) {
  return withTransaction(context.db, (trx) => work(trx, { apiKeyId: context.apiKeyId }, context.clock()));
}

export async function listTags(db: Database, owner: StateOwner) {
  const { tags } = await state.readOwnerState(db, owner);
  return { data: tags.map((tag) => ({ tag })), pagination: onePage };
}

export function addTag(context: WriteContext, owner: StateOwner, tag: string) {
  return change(context, (trx, source, now) => state.applyTag(trx, { owner, tag, source, now }));
}

export async function replaceTags(context: WriteContext, owner: StateOwner, tags: string[]) {
  const replaced = await change(context, (trx, source, now) =>
    state.replaceTags(trx, { owner, tags, source, now }),
  );
  return { tags: replaced };
}

export async function removeTag(context: WriteContext, owner: StateOwner, tag: string): Promise<void> {
  await change(context, (trx, source, now) => state.applyUntag(trx, { owner, tag, source, now }));
}

export async function listCounters(db: Database, clock: Clock, owner: StateOwner) {
  await state.readOwnerState(db, owner);
  const now = clock();
  const rows = await store.listCounters(db, owner);
  return { data: rows.map((row) => state.toCounterView(row, now)), pagination: onePage };
}

export async function getCounter(db: Database, clock: Clock, owner: StateOwner, key: string) {
  await state.readOwnerState(db, owner);
  const row = await store.findCounter(db, owner, key);
  if (row === undefined) throw notFound('counter');
  return state.toCounterView(row, clock());
}

export function setCounter(context: WriteContext, owner: StateOwner, key: string, body: SetCounterBody) {
  return change(context, (trx, source, now) =>
    state.setCounter(trx, { owner, key, value: body.value, resetAfter: body.reset_after, source, now }),
  );
}

export async function removeCounter(context: WriteContext, owner: StateOwner, key: string): Promise<void> {
  await change(context, (trx, source, now) => state.deleteCounter(trx, { owner, key, source, now }));
}

export async function listAttributes(db: Database, owner: StateOwner) {
  const { attributes } = await state.readOwnerState(db, owner);
  const data = Object.entries(attributes)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => ({ key, value }));
  return { data, pagination: onePage };
}

export async function setAttribute(context: WriteContext, owner: StateOwner, key: string, value: string) {
  await change(context, (trx, source, now) => state.setAttribute(trx, { owner, key, value, source, now }));
  return { key, value };
}

export async function mergeAttributes(
  context: WriteContext,
  owner: StateOwner,
  attributes: Record<string, string>,
) {
  const merged = await change(context, (trx, source, now) =>
    state.mergeAttributes(trx, { owner, attributes, source, now }),
  );
  return { attributes: merged };
}

export async function removeAttribute(context: WriteContext, owner: StateOwner, key: string): Promise<void> {
  await change(context, (trx, source, now) => state.deleteAttribute(trx, { owner, key, source, now }));
}

function toHistoryEntry(row: StateHistoryRow): StateHistoryEntry {
  return {
    id: row.id,
    state_type: row.state_type,
    key: row.key,
    operation: row.operation,
    old_value: row.old_value,
    new_value: row.new_value,
    program_id: row.program_id,
    event_id: row.event_id,
    rule_id: row.rule_id,
    changed_by_api_key_id: row.changed_by_api_key_id,
    changed_by_job: row.changed_by_job,
    changed_at: row.changed_at.toISOString(),
  };
}

export async function listStateHistory(
  db: Database,
  owner: StateOwner,
  query: StateHistoryQuery,
): Promise<PageResult<StateHistoryEntry>> {
  await state.readOwnerState(db, owner);
  const limit = query.limit ?? stateHistoryPageSizeDefault;
  const scope = `state-history:${owner.type}:${owner.id}`;
  const after = decodeKeyset(query.cursor, scope);
  const rows = await store.listHistory(db, owner, {
    stateType: query.state_type,
    key: query.key,
    programId: query.program_id,
    operation: query.operation,
    from: readOptionalTimestamp(query.from, 'from'),
    to: readOptionalTimestamp(query.to, 'to'),
    eventFrom: readOptionalTimestamp(query.event_from, 'event_from'),
    eventTo: readOptionalTimestamp(query.event_to, 'event_to'),
    after,
    limit,
  });
  return toPage(rows, limit, scope, (row) => [row.changed_at, row.id], toHistoryEntry);
}
