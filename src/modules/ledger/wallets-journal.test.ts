import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestApp,
  createLedgerFixture,
  type LedgerFixture,
  type Tenant,
  type TestApp,
} from '../../../test/harness.js';
import { checkIntegrity, verifyLedger } from './integrity.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  other = await t.createOrganization();
});

function adjust(f: LedgerFixture, body: Record<string, unknown>) {
  return acme.request('POST', `/v1/participants/${f.participantId}/balances/adjust`, {
    program_id: f.programId,
    asset_id: f.assetId,
    description: 'test',
    ...body,
  });
}

/** An organization of its own whose participant got `count` credits of 1, described `credit 0`, … */
async function organizationWithCredits(count: number) {
  const org = await t.createOrganization();
  const f = await createLedgerFixture(org);
  for (let i = 0; i < count; i += 1) {
    await org.request('POST', `/v1/participants/${f.participantId}/balances/adjust`, {
      program_id: f.programId,
      asset_id: f.assetId,
      description: `credit ${i}`,
      type: 'CREDIT',
      amount: '1',
    });
  }
  return org;
}

const wallet = (f: LedgerFixture, path: string, body: unknown, tenant = acme) =>
  tenant.request('POST', `/v1/programs/${f.programId}/assets/${f.assetId}/${path}`, body);

describe('program wallets', () => {
  it('funds, draws PREFUNDED credits, refuses a short wallet, burns, and reports history and statement', async () => {
    t.testClock.set('2026-01-01T00:00:00Z');
    const f = await createLedgerFixture(acme, { issuance_policy: 'PREFUNDED' });
    const funded = await wallet(f, 'fund', { amount: '100', description: 'Q1 budget' });
    expect(funded.statusCode).toBe(200);
    expect(funded.json()).toMatchObject({ available: '100.00', message: 'Program funded successfully' });
    t.testClock.advance(1000);
    expect((await adjust(f, { type: 'CREDIT', amount: '60' })).statusCode).toBe(200);
    const short = await adjust(f, { type: 'CREDIT', amount: '41' });
    expect(short.statusCode).toBe(422);
    expect(short.json()).toMatchObject({
      code: 'insufficient_balance',
      details: { bucket: 'AVAILABLE', shortfall: '1.00' },
    });
    t.testClock.advance(1000);
    const overBurn = await wallet(f, 'burn', { amount: '40.01' });
    expect(overBurn.json()).toMatchObject({ code: 'insufficient_balance', details: { shortfall: '0.01' } });
    const burned = await wallet(f, 'burn', { amount: '40' });
    expect(burned.json()).toMatchObject({
      available: '0.00',
      message: 'Program balance burned successfully',
    });
    const balance = (await acme.request('GET', `/v1/programs/${f.programId}/balance`)).json();
    expect(balance.data).toEqual([
      {
        asset_id: f.assetId,
        available: '0.00',
        held: '0.00',
        deferred: '0.00',
        issuance_policy: 'PREFUNDED',
      },
    ]);
    const history = (await acme.request('GET', `/v1/programs/${f.programId}/history`)).json();
    expect(
      history.data.map((i: { action_type: string; amount: string }) => [i.action_type, i.amount]),
    ).toEqual([
      ['FUND', '100.00'],
      ['CREDIT', '-60.00'],
      ['BURN', '-40.00'],
    ]);
    const statement = (
      await acme.request('GET', `/v1/programs/${f.programId}/statement?asset_id=${f.assetId}&limit=2`)
    ).json();
    expect(statement.data.map((l: { running_balance: string }) => l.running_balance)).toEqual([
      '100.00',
      '40.00',
    ]);
    expect(statement.closing_balance).toBe('0.00');
  });

  it('refuses fund on an UNLIMITED asset, excess decimals, and foreign programs', async () => {
    const f = await createLedgerFixture(acme);
    expect((await wallet(f, 'fund', { amount: '1' })).json().code).toBe('asset_not_prefunded');
    const p = await createLedgerFixture(acme, { issuance_policy: 'PREFUNDED' });
    expect((await wallet(p, 'fund', { amount: '1.001' })).json().code).toBe('invalid_scale');
    expect((await wallet(p, 'fund', { amount: '1' }, other)).statusCode).toBe(404);
    for (const path of ['balance', 'history', `statement?asset_id=${p.assetId}`]) {
      expect((await other.request('GET', `/v1/programs/${p.programId}/${path}`)).statusCode).toBe(404);
    }
  });

  it('makes the program link permanent once entries exist', async () => {
    const f = await createLedgerFixture(acme);
    await adjust(f, { type: 'CREDIT', amount: '1' });
    const unlink = await acme.request('DELETE', `/v1/programs/${f.programId}/assets/${f.assetId}`);
    expect(unlink.statusCode).toBe(409);
  });
});

describe('statement and history', () => {
  it('keeps opening, closing and running balances right across pages and windows', async () => {
    t.testClock.set('2026-02-01T00:00:00Z');
    const f = await createLedgerFixture(acme);
    for (const [type, amount] of [
      ['CREDIT', '10'],
      ['CREDIT', '20'],
      ['DEBIT', '5'],
      ['CREDIT', '1'],
    ]) {
      t.testClock.advance(60_000);
      await adjust(f, { type, amount });
    }
    const base = `/v1/participants/${f.participantId}/statement?asset_id=${f.assetId}&bucket=AVAILABLE`;
    const window = '&from=2026-02-01T00:02:00Z&to=2026-02-01T00:03:00Z';
    const first = (await acme.request('GET', `${base}${window}&limit=1`)).json();
    expect(first).toMatchObject({ opening_balance: '10.00', closing_balance: '25.00', bucket: 'AVAILABLE' });
    expect(first.data.map((l: { running_balance: string }) => l.running_balance)).toEqual(['30.00']);
    const second = (
      await acme.request('GET', `${base}${window}&limit=1&cursor=${first.pagination.next_cursor}`)
    ).json();
    expect(
      second.data.map((l: { running_balance: string; amount: string }) => [l.amount, l.running_balance]),
    ).toEqual([['-5.00', '25.00']]);
    expect(second.pagination.has_more).toBe(false);
    const whole = (await acme.request('GET', base)).json();
    expect(whole.opening_balance).toBe('0.00');
    expect(whole.closing_balance).toBe('26.00');
    const history = (
      await acme.request(
        'GET',
        `/v1/participants/${f.participantId}/activity/history?event_from=2026-02-01T00:03:00Z&event_to=2026-02-01T00:04:00Z`,
      )
    ).json();
    expect(history.data.map((i: { amount: string }) => i.amount)).toEqual(['-5.00', '1.00']);
    expect(history.data[0]).toMatchObject({ action_type: 'DEBIT', asset_id: f.assetId, event_id: null });
  });
});

describe('journal entries', () => {
  it('lists newest first with filters and answers 404 across organizations', async () => {
    const f = await createLedgerFixture(acme);
    const credit = (await adjust(f, { type: 'CREDIT', amount: '3' })).json();
    await acme.request('POST', `/v1/participants/${f.participantId}/balances/hold`, {
      program_id: f.programId,
      asset_id: f.assetId,
      description: 'hold',
      reference_id: 'ref-7',
    });
    const list = async (query: string) =>
      (await acme.request('GET', `/v1/journal-entries?${query}`))
        .json()
        .data.map((e: { action_type: string }) => e.action_type);
    expect(await list(`participant_id=${f.participantId}`)).toEqual(['HOLD', 'CREDIT']);
    expect(await list(`program_id=${f.programId}&action_type=CREDIT`)).toEqual(['CREDIT']);
    expect(await list('reference_id=ref-7')).toEqual(['HOLD']);
    expect(await list(`asset_id=${f.assetId}&bucket=HELD`)).toEqual(['HOLD']);
    expect(await list(`participant_id=${f.participantId}&min_amount=3`)).toEqual(['HOLD', 'CREDIT']);
    expect(await list(`participant_id=${f.participantId}&max_amount=-3`)).toEqual(['HOLD']);
    expect(await list(`participant_id=${f.participantId}&min_amount=3.01`)).toEqual([]);
    const externalId = (await acme.request('GET', `/v1/participants/${f.participantId}`)).json().external_id;
    expect(await list(`external_id=${externalId}`)).toEqual(['HOLD', 'CREDIT']);
    const both = await acme.request(
      'GET',
      `/v1/journal-entries?participant_id=${f.participantId}&external_id=x`,
    );
    expect(both.statusCode).toBe(400);
    expect((await acme.request('GET', '/v1/journal-entries?min_amount=1e5')).json().details.field).toBe(
      'min_amount',
    );
    const entry = (await acme.request('GET', `/v1/journal-entries/${credit.journal_entry_id}`)).json();
    expect(entry).toMatchObject({ program_id: f.programId, event_id: null, rule_id: null });
    expect(entry.program_name).toMatch(/^program/);
    expect((await other.request('GET', `/v1/journal-entries/${credit.journal_entry_id}`)).statusCode).toBe(
      404,
    );
    expect(
      await (async () =>
        (await other.request('GET', `/v1/journal-entries?participant_id=${f.participantId}`)).json().data)(),
    ).toEqual([]);
  });

  it('seals entries into a chain that the integrity report and verify check, and detects tampering', async () => {
    const org = await organizationWithCredits(3);
    const report = (await org.request('GET', '/v1/reports/integrity?window=2')).json();
    expect(report).toMatchObject({
      all_passed: true,
      window: 2,
      chain_head: { sequence_number: '3' },
      hash_chain: { anchored_at_genesis: false, entries_verified: 2, pass: true },
      unsealed_entries: { pass: true, violation_count: 0 },
    });
    const entry = (await org.request('GET', `/v1/journal-entries?limit=1`)).json().data[0];
    expect(entry.entry_hash).toMatch(/^[0-9a-f]{64}$/);
    expect((await org.request('GET', '/v1/reports/integrity?window=10001')).statusCode).toBe(400);
    const db = t.database.handle.db;
    expect((await verifyLedger(db, t.testClock.clock)).ok).toBe(true);
    await sql`update ledger_accounts set balance = balance + 1
      where organization_id = ${org.organizationId} and owner_type = 'PARTICIPANT'`.execute(db);
    const tampered = (await org.request('GET', '/v1/reports/integrity')).json();
    expect(tampered.all_passed).toBe(false);
    expect(tampered.stored_balances.pass).toBe(false);
    expect((await verifyLedger(db, t.testClock.clock)).ok).toBe(false);
    await sql`update ledger_accounts set balance = balance - 1
      where organization_id = ${org.organizationId} and owner_type = 'PARTICIPANT'`.execute(db);
  });

  it('verifies a chain longer than one page, and finds an altered entry on any page', async () => {
    const org = await organizationWithCredits(7);
    const db = t.database.handle.db;
    const check = (window: number) => checkIntegrity(db, t.testClock.clock, org.organizationId, window, 3);
    expect((await check(100)).hash_chain).toEqual({
      anchored_at_genesis: true,
      entries_verified: 7,
      pass: true,
      violation_count: 0,
    });
    expect((await check(5)).hash_chain).toMatchObject({
      anchored_at_genesis: false,
      entries_verified: 5,
      pass: true,
    });
    // Entries are append-only; replica mode lets this test rewrite one on the third page.
    const alter = (description: string) =>
      db.connection().execute(async (connection) => {
        await sql`set session_replication_role = replica`.execute(connection);
        await sql`update journal_entries set description = ${description}
          where organization_id = ${org.organizationId} and id = (select journal_entry_id from journal_seals
            where organization_id = ${org.organizationId} and sequence_number = 7)`.execute(connection);
        await sql`set session_replication_role = origin`.execute(connection);
      });
    await alter('credit 6, altered');
    expect((await check(100)).hash_chain).toMatchObject({
      entries_verified: 7,
      pass: false,
      violation_count: 1,
    });
    await alter('credit 6');
    expect((await check(100)).hash_chain.pass).toBe(true);
  });

  it('waits for a sealer at work instead of counting its entries as left unsealed', async () => {
    const org = await t.createOrganization();
    const f = await createLedgerFixture(org);
    const db = t.database.handle.db;
    await checkIntegrity(db, t.testClock.clock, org.organizationId);
    await org.request('POST', `/v1/participants/${f.participantId}/balances/adjust`, {
      program_id: f.programId,
      asset_id: f.assetId,
      description: 'while another sealer works',
      type: 'CREDIT',
      amount: '1',
    });
    const unsealed = await sql<{ n: string }>`select count(*)::text as n from journal_entries j
      where organization_id = ${org.organizationId} and not exists (select 1 from journal_seals s
        where s.organization_id = j.organization_id and s.journal_entry_id = j.id)`.execute(db);
    expect(unsealed.rows).toEqual([{ n: '1' }]);
    // Another process's sealer holds the chain head while the check starts.
    const report = await db.connection().execute(async (sealer) => {
      await sql`begin`.execute(sealer);
      await sql`select 1 from ledger_chain_heads where organization_id = ${org.organizationId}
        for update`.execute(sealer);
      const check = checkIntegrity(db, t.testClock.clock, org.organizationId);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await sql`rollback`.execute(sealer);
      return check;
    });
    expect(report.unsealed_entries).toEqual({ pass: true, violation_count: 0 });
    expect(report.all_passed).toBe(true);
  });

  it('seals into insert-only seals without rewriting the entries, and shows each seal with its entry', async () => {
    const org = await t.createOrganization();
    const f = await createLedgerFixture(org);
    const db = t.database.handle.db;
    for (const description of ['first', 'second', 'third']) {
      await org.request('POST', `/v1/participants/${f.participantId}/balances/adjust`, {
        program_id: f.programId,
        asset_id: f.assetId,
        description,
        type: 'CREDIT',
        amount: '1',
      });
    }
    const versions = sql<{
      id: string;
      version: string;
    }>`select id, xmin::text as version from journal_entries
      where organization_id = ${org.organizationId} order by id`;
    const before = (await versions.execute(db)).rows;
    expect((await checkIntegrity(db, t.testClock.clock, org.organizationId)).all_passed).toBe(true);
    expect((await versions.execute(db)).rows).toEqual(before);
    const seals = await sql<{ id: string; sequence_number: string; entry_hash: string }>`select
        journal_entry_id as id, sequence_number::text as sequence_number, encode(entry_hash, 'hex') as entry_hash
      from journal_seals where organization_id = ${org.organizationId} order by sequence_number`.execute(db);
    expect(seals.rows).toHaveLength(before.length);
    const listed = (await org.request('GET', '/v1/journal-entries?limit=100')).json().data;
    expect(
      listed
        .map((entry: { id: string; sequence_number: string; entry_hash: string }) => ({
          id: entry.id,
          sequence_number: entry.sequence_number,
          entry_hash: entry.entry_hash,
        }))
        .reverse(),
    ).toEqual(seals.rows);
    expect(listed.map((entry: { description: string }) => entry.description).slice(0, 3)).toEqual([
      'third',
      'second',
      'first',
    ]);
    await expect(
      sql`update journal_seals set sequence_number = sequence_number + 100
        where organization_id = ${org.organizationId}`.execute(db),
    ).rejects.toThrow(/append-only/);
    await expect(
      sql`delete from journal_seals where organization_id = ${org.organizationId}`.execute(db),
    ).rejects.toThrow(/append-only/);
  });

  it('refuses a posting whose journal entry does not exist, and reports one written around the check', async () => {
    const org = await organizationWithCredits(1);
    const db = t.database.handle.db;
    const orphan = sql`insert into postings (organization_id, id, journal_entry_id, account_id, asset_id, owner_type,
        owner_id, bucket, amount, created_at)
      select organization_id, '01900000-0000-7000-8000-0000000000bb', '01900000-0000-7000-8000-0000000000cc',
        account_id, asset_id, owner_type, owner_id, bucket, amount, created_at
      from postings where organization_id = ${org.organizationId} limit 1`;
    await expect(orphan.execute(db)).rejects.toThrow(/without its entry/);
    expect((await checkIntegrity(db, t.testClock.clock, org.organizationId)).postings_balanced.pass).toBe(
      true,
    );
    // Replica mode skips the check and the append-only trigger, as a direct edit of the database would.
    await db.connection().execute(async (connection) => {
      await sql`set session_replication_role = replica`.execute(connection);
      await orphan.execute(connection);
      const report = await checkIntegrity(connection, t.testClock.clock, org.organizationId);
      expect(report.postings_balanced).toEqual({ pass: false, violation_count: 1 });
      await sql`delete from postings where organization_id = ${org.organizationId}
        and journal_entry_id = '01900000-0000-7000-8000-0000000000cc'`.execute(connection);
      await sql`set session_replication_role = origin`.execute(connection);
    });
  });

  it('refuses a posting on an account that does not exist, and deleting an account', async () => {
    const org = await organizationWithCredits(1);
    const db = t.database.handle.db;
    await expect(
      sql`insert into postings (organization_id, id, journal_entry_id, account_id, asset_id, owner_type,
          owner_id, bucket, amount, created_at)
        select organization_id, '01900000-0000-7000-8000-0000000000dd', journal_entry_id,
          '01900000-0000-7000-8000-0000000000ee', asset_id, owner_type, owner_id, bucket, amount, created_at
        from postings where organization_id = ${org.organizationId} limit 1`.execute(db),
    ).rejects.toThrow(/on account 01900000-0000-7000-8000-0000000000ee that does not exist/);
    await expect(
      sql`delete from ledger_accounts where organization_id = ${org.organizationId}`.execute(db),
    ).rejects.toThrow(/append-only: DELETE on ledger_accounts refused/);
    expect((await checkIntegrity(db, t.testClock.clock, org.organizationId)).all_passed).toBe(true);
  });

  it('refuses to rewrite postings, and a database-level unbalanced entry', async () => {
    const db = t.database.handle.db;
    await expect(sql`update postings set amount = amount * 2`.execute(db)).rejects.toThrow(/append-only/);
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`insert into journal_entries (organization_id, id, action_type, description, created_at)
          values (${acme.organizationId}, '01900000-0000-7000-8000-0000000000aa', 'CREDIT', 'bad', now())`.execute(
          trx,
        );
      }),
    ).rejects.toThrow(/not balanced/);
  });
});
