// The apply functions the event processor calls, run directly inside a transaction of the test
// database, with an event as their source.
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type Tenant, type TestApp } from '../../../test/harness.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { newId } from '../../platform/ids.js';
import {
  applyTag,
  applyUntag,
  deleteAttribute,
  historyRows,
  incrementCounter,
  loadStateForRules,
  recordHistoryRows,
  type StateOwner,
  type StateSource,
  setAttribute,
} from './index.js';

let t: TestApp;
let acme: Tenant;
let db: Database;
let programId: string;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  db = t.database.handle.db;
  programId = (await acme.request('POST', '/v1/programs', { name: 'Rules' })).json().id;
});

async function newParticipantOwner(): Promise<StateOwner> {
  const external_id = `p-${Math.random().toString(36).slice(2)}`;
  const id = (await acme.request('POST', '/v1/participants', { external_id, program_id: programId })).json()
    .id;
  return { organizationId: acme.organizationId, type: 'PARTICIPANT', id };
}

function eventSource(eventTimestamp = new Date('2025-05-01T12:00:00Z')) {
  return { eventId: newId(), ruleId: newId(), programId, eventTimestamp } satisfies StateSource;
}

const at = (iso: string) => new Date(iso);

async function history(owner: StateOwner, query = '') {
  const base = owner.type === 'PARTICIPANT' ? '/v1/participants' : '/v1/programs';
  return (await acme.request('GET', `${base}/${owner.id}/activity/state-history?${query}`)).json().data;
}

describe('incrementCounter', () => {
  it('creates the counter at 0, adds exactly, and records each increment with its event and rule', async () => {
    const owner = await newParticipantOwner();
    const source = eventSource();
    const now = at('2025-05-01T12:00:01Z');
    await withTransaction(db, async (trx) => {
      await incrementCounter(trx, { owner, key: 'spend', by: '340.00', source, now, at: now });
      const view = await incrementCounter(trx, { owner, key: 'spend', by: '49.99', source, now, at: now });
      expect(view).toEqual({
        key: 'spend',
        value: '389.99',
        reset_after: null,
        last_reset_at: now.toISOString(),
      });
    });
    const rows = await history(owner);
    expect(rows.map((r: Record<string, unknown>) => [r.operation, r.old_value, r.new_value])).toEqual([
      ['add', '340', '389.99'],
      ['add', null, '340'],
    ]);
    expect(rows[0]).toMatchObject({
      state_type: 'counter',
      event_id: source.eventId,
      rule_id: source.ruleId,
      program_id: programId,
      changed_by_api_key_id: null,
      changed_at: now.toISOString(),
    });
    expect(await history(owner, `program_id=${programId}`)).toHaveLength(2);
    expect(
      await history(owner, 'event_from=2025-05-01T12:00:00Z&event_to=2025-05-01T12:00:00Z'),
    ).toHaveLength(2);
    expect(await history(owner, 'event_to=2025-05-01T11:59:59Z')).toHaveLength(0);
  });

  it('applies a due reset_after lazily: records auto_reset, counts from 0 and restarts the window', async () => {
    const owner = await newParticipantOwner();
    const source = eventSource();
    await withTransaction(db, (trx) =>
      incrementCounter(trx, {
        owner,
        key: 'streak',
        by: '3',
        resetAfter: '24h',
        source,
        now: at('2025-05-01T00:00:00Z'),
        at: at('2025-05-01T00:00:00Z'),
      }),
    );
    const later = at('2025-05-02T06:00:00Z');
    const view = await withTransaction(db, (trx) =>
      incrementCounter(trx, { owner, key: 'streak', by: '1', source, now: later, at: later }),
    );
    expect(view).toEqual({
      key: 'streak',
      value: '1',
      reset_after: '24h',
      last_reset_at: later.toISOString(),
    });
    const rows = await history(owner);
    expect(rows.map((r: Record<string, unknown>) => [r.operation, r.old_value, r.new_value])).toEqual([
      ['add', '0', '1'],
      ['auto_reset', '3', '0'],
      ['add', null, '3'],
    ]);
    expect(await history(owner, 'operation=auto_reset')).toHaveLength(1);
    const sameWindow = await withTransaction(db, (trx) =>
      incrementCounter(trx, {
        owner,
        key: 'streak',
        by: '1',
        source,
        now: at('2025-05-03T05:59:59Z'),
        at: at('2025-05-03T05:59:59Z'),
      }),
    );
    expect(sameWindow.value).toBe('2');
  });

  it('sets reset_after from the action without restarting the window, and "" removes it', async () => {
    const owner = await newParticipantOwner();
    const source = eventSource();
    const created = at('2025-05-01T00:00:00Z');
    await withTransaction(db, (trx) =>
      incrementCounter(trx, { owner, key: 'k', by: '1', source, now: created, at: created }),
    );
    const configured = await withTransaction(db, (trx) =>
      incrementCounter(trx, {
        owner,
        key: 'k',
        by: '1',
        resetAfter: '720h',
        source,
        now: at('2025-05-10T00:00:00Z'),
        at: at('2025-05-10T00:00:00Z'),
      }),
    );
    expect(configured).toMatchObject({
      value: '2',
      reset_after: '720h',
      last_reset_at: created.toISOString(),
    });
    const cleared = await withTransaction(db, (trx) =>
      incrementCounter(trx, {
        owner,
        key: 'k',
        by: '1',
        resetAfter: '',
        source,
        now: at('2025-05-20T00:00:00Z'),
        at: at('2025-05-20T00:00:00Z'),
      }),
    );
    expect(cleared).toMatchObject({ value: '3', reset_after: null });
  });

  it('refuses a value that is not a decimal, a bad duration and an overflow, writing nothing', async () => {
    const owner = await newParticipantOwner();
    const source = eventSource();
    const now = at('2025-05-01T00:00:00Z');
    for (const [input, field] of [
      [{ by: '1e3' }, 'value'],
      [{ by: 'NaN' }, 'value'],
      [{ by: '1', resetAfter: '1d' }, 'reset_after'],
    ] as const) {
      await expect(
        withTransaction(db, (trx) =>
          incrementCounter(trx, { owner, key: 'c', source, now, at: now, ...input }),
        ),
      ).rejects.toMatchObject({ code: 'bad_request', details: { field } });
    }
    const max = '99999999999999999999.999999999999999999';
    await withTransaction(db, (trx) =>
      incrementCounter(trx, { owner, key: 'c', by: max, source, now, at: now }),
    );
    await expect(
      withTransaction(db, (trx) =>
        incrementCounter(trx, { owner, key: 'c', by: '0.000000000000000001', source, now, at: now }),
      ),
    ).rejects.toMatchObject({ code: 'bad_request', details: { field: 'value' } });
    expect(await history(owner)).toHaveLength(1);
  });
});

describe('tags and attributes from rules', () => {
  it('tags, untags and sets attributes on a participant and on the program', async () => {
    const participant = await newParticipantOwner();
    const program: StateOwner = { organizationId: acme.organizationId, type: 'PROGRAM', id: programId };
    const source = eventSource();
    const now = at('2025-05-01T00:00:00Z');
    await withTransaction(db, async (trx) => {
      expect(await applyTag(trx, { owner: participant, tag: 'Welcome_Bonus', source, now })).toEqual({
        tag: 'welcome_bonus',
        added: true,
      });
      expect((await applyTag(trx, { owner: participant, tag: 'welcome_bonus', source, now })).added).toBe(
        false,
      );
      await applyTag(trx, { owner: program, tag: 'milestone_reached', source, now });
      await setAttribute(trx, { owner: participant, key: 'region', value: 'eu', source, now });
      await setAttribute(trx, { owner: program, key: 'season', value: 'summer', source, now });
      expect((await applyUntag(trx, { owner: participant, tag: 'absent', source, now })).removed).toBe(false);
      expect(await deleteAttribute(trx, { owner: participant, key: 'absent', source, now })).toBe(false);
    });
    const detail = (await acme.request('GET', `/v1/participants/${participant.id}`)).json();
    expect(detail).toMatchObject({ tags: ['welcome_bonus'], attributes: { region: 'eu' } });
    expect((await acme.request('GET', `/v1/programs/${programId}/state/tags`)).json().data).toContainEqual({
      tag: 'milestone_reached',
    });
    expect(await history(participant)).toHaveLength(2);
    await withTransaction(db, async (trx) => {
      expect((await applyUntag(trx, { owner: participant, tag: 'WELCOME_BONUS', source, now })).removed).toBe(
        true,
      );
    });
    expect((await history(participant, 'state_type=tag&operation=remove'))[0].rule_id).toBe(source.ruleId);
  });

  it("rolls back with the caller's transaction: no state, no history", async () => {
    const owner = await newParticipantOwner();
    const source = eventSource();
    const now = at('2025-05-01T00:00:00Z');
    await expect(
      withTransaction(db, async (trx) => {
        await applyTag(trx, { owner, tag: 'vip', source, now });
        await incrementCounter(trx, { owner, key: 'n', by: '1', source, now, at: now });
        throw new Error('a later action failed');
      }),
    ).rejects.toThrow('a later action failed');
    expect((await acme.request('GET', `/v1/participants/${owner.id}`)).json()).toMatchObject({
      tags: [],
      counters: {},
    });
    expect(await history(owner)).toEqual([]);
  });

  it('answers not_found for an unknown participant or program', async () => {
    const source = eventSource();
    const now = at('2025-05-01T00:00:00Z');
    for (const type of ['PARTICIPANT', 'PROGRAM'] as const) {
      const owner: StateOwner = { organizationId: acme.organizationId, type, id: newId() };
      await expect(
        withTransaction(db, (trx) => applyTag(trx, { owner, tag: 'x', source, now })),
      ).rejects.toMatchObject({ code: 'not_found' });
    }
  });
});

describe('loadStateForRules', () => {
  it('gives tags, attributes, effective counters as numbers and exact strings, and the status', async () => {
    const owner = await newParticipantOwner();
    const program: StateOwner = { organizationId: acme.organizationId, type: 'PROGRAM', id: programId };
    const source = eventSource();
    const start = at('2025-05-01T00:00:00Z');
    await withTransaction(db, async (trx) => {
      await applyTag(trx, { owner, tag: 'vip', source, now: start });
      await setAttribute(trx, { owner, key: 'plan', value: 'gold', source, now: start });
      await incrementCounter(trx, { owner, key: 'spend', by: '0.1', source, now: start, at: start });
      await incrementCounter(trx, { owner, key: 'spend', by: '0.2', source, now: start, at: start });
      await incrementCounter(trx, {
        owner,
        key: 'daily',
        by: '2',
        resetAfter: '24h',
        source,
        now: start,
        at: start,
      });
      await incrementCounter(trx, { owner: program, key: 'members', by: '7', source, now: start, at: start });
    });
    await acme.request('PATCH', `/v1/participants/${owner.id}/status`, { status: 'SUSPENDED' });
    const state = await withTransaction(db, (trx) =>
      loadStateForRules(trx, acme.organizationId, owner.id, programId, at('2025-05-02T00:00:00Z')),
    );
    expect(state.participant).toEqual({
      status: 'SUSPENDED',
      tags: ['vip'],
      attributes: { plan: 'gold' },
      counters: { daily: 0, spend: 0.3 },
      counterValues: { daily: '0', spend: '0.3' },
    });
    expect(state.program.counters.members).toBe(7);
    expect(state.program.counterValues.members).toBe('7');
    expect(state.program.tags).toEqual(expect.any(Array));
  });

  it('gives empty program state to a program that never had any', async () => {
    const owner = await newParticipantOwner();
    const fresh = (await acme.request('POST', '/v1/programs', { name: 'Fresh' })).json().id;
    const state = await withTransaction(db, (trx) =>
      loadStateForRules(trx, acme.organizationId, owner.id, fresh, new Date()),
    );
    expect(state.program).toEqual({ tags: [], attributes: {}, counters: {}, counterValues: {} });
  });
});

describe('concurrent changes to one owner', () => {
  it('lose no increment and no tag', async () => {
    const owner = await newParticipantOwner();
    const now = at('2025-05-01T00:00:00Z');
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        withTransaction(db, async (trx) => {
          await incrementCounter(trx, { owner, key: 'n', by: '0.1', source: eventSource(), now, at: now });
          await applyTag(trx, { owner, tag: `t${i}`, source: eventSource(), now });
        }),
      ),
    );
    const detail = (await acme.request('GET', `/v1/participants/${owner.id}`)).json();
    expect(detail.counters).toEqual({ n: '0.8' });
    expect(detail.tags).toHaveLength(8);
    expect(await history(owner, 'limit=100')).toHaveLength(16);
  });
});

describe('the database', () => {
  it('holds the tag bound too: 100 tags on a participant row, not 101', async () => {
    const owner = await newParticipantOwner();
    const tags = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);
    const update = (n: number) =>
      sql`update participants set tags = ${tags(n)} where organization_id = ${owner.organizationId} and id = ${owner.id}`.execute(
        db,
      );
    await update(100);
    await expect(update(101)).rejects.toMatchObject({ constraint: 'participants_tags_max' });
  });

  it('refuses a history row with no source, or with both', async () => {
    const owner = await newParticipantOwner();
    const insert = (eventId: string | null, apiKeyId: string | null) =>
      sql`insert into state_history_sets (organization_id, id, owner_type, owner_id, event_id, event_timestamp,
            changed_by_api_key_id, changed_at, changes)
          values (${owner.organizationId}, ${newId()}, 'PARTICIPANT', ${owner.id}, ${eventId},
            ${eventId === null ? null : new Date()}, ${apiKeyId}, now(), '[["tag", "x", "add", null, "x", null]]')`.execute(
        db,
      );
    await expect(insert(null, null)).rejects.toMatchObject({ code: '23514' });
    await expect(insert(newId(), newId())).rejects.toMatchObject({ code: '23514' });
    await insert(newId(), null);
  });
});

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

/** A source from one event whose rule is `ruleId`. */
const ruleSource = (ruleId: string) => ({ ...eventSource(new Date('2026-05-01T12:00:00Z')), ruleId });

// The changes one source makes to one owner at one time are one row of state_history_sets, read one
// change per entry: listed and paged as before.
describe('the state history in sets', () => {
  it("stores one event's changes to one participant as one row, listed newest first with each rule", async () => {
    const owner = await newParticipantOwner();
    const [countRule, spendRule] = [newId(), newId()];
    const source = ruleSource(countRule);
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
      ...historyRows(owner, ruleSource(newId()), now, [
        counterChange('a', null, '1'),
        counterChange('b', null, '1'),
      ]),
      ...historyRows(owner, ruleSource(newId()), now, [counterChange('a', '1', '2')]),
      ...historyRows(owner, ruleSource(newId()), later, [
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
    await recordHistoryRows(db, historyRows(owner, ruleSource(newId()), now, changes));
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
    await recordHistoryRows(db, historyRows(owner, ruleSource(newId()), new Date(), changes));
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
