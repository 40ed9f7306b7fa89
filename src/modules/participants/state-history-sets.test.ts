// The state history is stored as one row per owner, source and time (state_history_sets) and read one
// change per entry: what one event changes on one participant is one row, listed and paged as before.
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type Tenant, type TestApp } from '../../../test/harness.js';
import type { Database } from '../../platform/db/database.js';
import { newId } from '../../platform/ids.js';
import { historyRows, recordHistoryRows, type StateOwner, type StateSource } from './index.js';

let t: TestApp;
let acme: Tenant;
let db: Database;
let programId: string;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  db = t.database.handle.db;
  programId = (await acme.request('POST', '/v1/programs', { name: 'Sets' })).json().id;
});

async function newParticipantOwner(): Promise<StateOwner> {
  const external_id = `p-${newId()}`;
  const id = (await acme.request('POST', '/v1/participants', { external_id, program_id: programId })).json()
    .id;
  return { organizationId: acme.organizationId, type: 'PARTICIPANT', id };
}

const eventSource = (ruleId: string) =>
  ({
    eventId: newId(),
    ruleId,
    programId,
    eventTimestamp: new Date('2026-05-01T12:00:00Z'),
  }) satisfies StateSource;

const counterChange = (key: string, oldValue: string | null, newValue: string) => ({
  stateType: 'counter' as const,
  key,
  operation: 'add' as const,
  oldValue,
  newValue,
});

type Entry = Record<string, unknown>;

async function historyPages(owner: StateOwner, limit: number): Promise<Entry[][]> {
  const pages: Entry[][] = [];
  let cursor = '';
  for (;;) {
    const url = `/v1/participants/${owner.id}/activity/state-history?limit=${limit}${cursor}`;
    const page = (await acme.request('GET', url)).json();
    pages.push(page.data);
    if (!page.pagination.has_more) return pages;
    cursor = `&cursor=${page.pagination.next_cursor}`;
  }
}

async function setsOf(owner: StateOwner) {
  const result = await sql<{
    changes: number;
    event_id: string | null;
  }>`select json_array_length(changes) as changes, event_id
    from state_history_sets where organization_id = ${owner.organizationId} and owner_id = ${owner.id}
    order by id`.execute(db);
  return result.rows;
}

describe('the state history in sets', () => {
  it("stores one event's changes to one participant as one row, listed newest first with each rule", async () => {
    const owner = await newParticipantOwner();
    const [countRule, spendRule] = [newId(), newId()];
    const source = eventSource(countRule);
    const now = new Date('2026-05-01T12:00:01Z');
    await recordHistoryRows(db, [
      ...historyRows(owner, source, now, [counterChange('purchases', null, '1')]),
      ...historyRows(owner, { ...source, ruleId: spendRule }, now, [
        counterChange('ytd_spend', null, '40'),
        { stateType: 'tag', key: 'spender', operation: 'add', oldValue: null, newValue: 'spender' },
      ]),
    ]);
    expect(await setsOf(owner)).toEqual([{ changes: 3, event_id: source.eventId }]);
    const [entries = []] = await historyPages(owner, 50);
    expect(entries.map((entry) => [entry.state_type, entry.key, entry.new_value, entry.rule_id])).toEqual([
      ['tag', 'spender', 'spender', spendRule],
      ['counter', 'ytd_spend', '40', spendRule],
      ['counter', 'purchases', '1', countRule],
    ]);
    expect(new Set(entries.map((entry) => entry.id)).size).toBe(3);
    expect(entries[2]).toMatchObject({
      operation: 'add',
      old_value: null,
      program_id: programId,
      event_id: source.eventId,
      changed_by_api_key_id: null,
      changed_by_job: null,
      changed_at: now.toISOString(),
    });
  });

  it('pages one entry at a time through sets and across them, each entry once and in order', async () => {
    const owner = await newParticipantOwner();
    const now = new Date('2026-05-01T12:00:01Z');
    const later = new Date('2026-05-01T12:00:02Z');
    await recordHistoryRows(db, [
      ...historyRows(owner, eventSource(newId()), now, [
        counterChange('a', null, '1'),
        counterChange('b', null, '1'),
      ]),
      ...historyRows(owner, eventSource(newId()), now, [counterChange('a', '1', '2')]),
      ...historyRows(owner, eventSource(newId()), later, [
        counterChange('b', '1', '2'),
        counterChange('c', null, '1'),
      ]),
    ]);
    expect((await setsOf(owner)).map((set) => set.changes)).toEqual([2, 1, 2]);
    const pages = await historyPages(owner, 1);
    expect(pages.map((page) => page.length)).toEqual([1, 1, 1, 1, 1]);
    const [all = []] = await historyPages(owner, 50);
    expect(pages.flat()).toEqual(all);
    expect(all.map((entry) => `${entry.key}=${entry.new_value}`)).toEqual([
      'c=1',
      'b=2',
      'a=2',
      'b=1',
      'a=1',
    ]);
  });

  it('splits more than 256 changes of one owner at one time into sets of 256, every change listed', async () => {
    const owner = await newParticipantOwner();
    const now = new Date('2026-05-01T12:00:01Z');
    const changes = Array.from({ length: 300 }, (_, i) => counterChange(`k${i}`, null, String(i)));
    await recordHistoryRows(db, historyRows(owner, eventSource(newId()), now, changes));
    expect((await setsOf(owner)).map((set) => set.changes)).toEqual([256, 44]);
    const entries = (await historyPages(owner, 100)).flat();
    expect(entries.map((entry) => entry.new_value)).toEqual(changes.map((_, i) => String(299 - i)));
    expect(new Set(entries.map((entry) => entry.id)).size).toBe(300);
  });

  it('keeps values with quotes, backslashes, braces and any script exactly', async () => {
    const owner = await newParticipantOwner();
    const values = ['say "hi" \\ back', '{a,b}', 'naïve 東京 🎉', "it's; null"];
    const changes = values.map((value, i) => ({
      stateType: 'attribute' as const,
      key: `k"${i}\\`,
      operation: 'set' as const,
      oldValue: null,
      newValue: value,
    }));
    await recordHistoryRows(db, historyRows(owner, eventSource(newId()), new Date(), changes));
    const [entries = []] = await historyPages(owner, 50);
    expect(entries.map((entry) => [entry.key, entry.new_value]).reverse()).toEqual(
      changes.map((change) => [change.key, change.newValue]),
    );
  });

  it('refuses a set with more changes than its id leaves positions for', async () => {
    const owner = await newParticipantOwner();
    const insert = (id: string, count: number) =>
      sql`insert into state_history_sets (organization_id, owner_id, id, changed_by_job, changed_at, owner_type, changes)
        values (${owner.organizationId}, ${owner.id}, ${id}, 'test', now(), 'PARTICIPANT',
          ${JSON.stringify(Array.from({ length: count }, () => ['tag', 'x', 'add', null, 'x', null]))})`.execute(
        db,
      );
    const lastByteFe = `${newId().slice(0, 34)}fe`;
    await expect(insert(lastByteFe, 3)).rejects.toMatchObject({
      constraint: 'state_history_sets_changes_check',
    });
    await insert(lastByteFe, 2);
    await expect(insert(`${newId().slice(0, 34)}00`, 257)).rejects.toMatchObject({
      constraint: 'state_history_sets_changes_check',
    });
    await expect(insert(newId(), 0)).rejects.toMatchObject({
      constraint: 'state_history_sets_changes_check',
    });
  });
});
