import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestApp,
  createLedgerFixture,
  type LedgerFixture,
  type Tenant,
  type TestApp,
} from '../../../test/harness.js';
import { csvCell } from '../../platform/http/csv.js';
import { pageSizeMax } from '../../platform/limits.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;
let f: LedgerFixture;
let lot: LedgerFixture;
/** More credits than one page holds, so an export has to follow the cursor. */
const credits = pageSizeMax + 5;

function adjust(x: LedgerFixture, body: Record<string, unknown>) {
  return acme.request('POST', `/v1/participants/${x.participantId}/balances/adjust`, {
    program_id: x.programId,
    asset_id: x.assetId,
    description: 'export',
    ...body,
  });
}

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  other = await t.createOrganization();
  t.testClock.set('2026-01-01T00:00:00Z');
  f = await createLedgerFixture(acme);
  lot = await createLedgerFixture(acme, { inventory_mode: 'LOT', scale: 0 });
  for (let index = 0; index < credits; index += 1) {
    const response = await adjust(f, { type: 'CREDIT', amount: '1.25' });
    expect(response.statusCode, response.body).toBe(200);
  }
  t.testClock.set('2026-02-01T00:00:00Z');
  await adjust(f, { type: 'DEBIT', amount: '0.50', description: 'refund, "partial"' });
  await adjust(lot, { type: 'CREDIT', amount: '7', expires_at: '2026-03-15T00:00:00Z' });
});

/** RFC 4180: quoted cells may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        cell += '"';
        index += 1;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(cell);
      cell = '';
    } else if (char === '\r' && text[index + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      index += 1;
    } else cell += char;
  }
  return rows;
}

function records(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  return rows.map((row) =>
    Object.fromEntries((header ?? []).map((name, column) => [name, row[column] ?? ''])),
  );
}

describe('CSV exports', () => {
  it('exports every journal entry, one row per posting, across pages, as an attachment', async () => {
    const response = await acme.request('GET', `/v1/journal-entries?format=csv&asset_id=${f.assetId}`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toBe('attachment; filename="journal-entries.csv"');
    expect(response.body.split('\r\n')[0]).toBe(
      'journal_entry_id,created_at,action_type,description,program_id,program_name,event_id,rule_id,' +
        'reference_id,created_by_api_key_id,sequence_number,entry_hash,posting_id,asset_id,asset_symbol,' +
        'bucket,entity_type,system_account,participant_id,group_id,amount',
    );
    const rows = records(response.body);
    const entries = new Set(rows.map((row) => row.journal_entry_id));
    expect(entries.size).toBe(credits + 1);
    // Each entry balances: its postings sum to zero.
    expect(rows.length).toBeGreaterThanOrEqual(2 * entries.size);
    const participantRows = rows.filter((row) => row.participant_id === f.participantId);
    expect(participantRows.filter((row) => row.amount === '1.25')).toHaveLength(credits);
    const debit = participantRows.find((row) => row.action_type === 'DEBIT');
    expect(debit).toMatchObject({ amount: '-0.50', description: 'refund, "partial"' });
    expect(rows.every((row) => row.asset_id === f.assetId)).toBe(true);
  });

  it('applies the same filters as the JSON list, and answers JSON unless CSV is asked for', async () => {
    const query = `action_type=DEBIT&participant_id=${f.participantId}`;
    const json = await acme.request('GET', `/v1/journal-entries?${query}`);
    expect(json.headers['content-type']).toContain('application/json');
    const csv = await acme.request('GET', `/v1/journal-entries?${query}&format=csv`);
    const ids = new Set(records(csv.body).map((row) => row.journal_entry_id));
    expect([...ids]).toEqual(json.json().data.map((entry: { id: string }) => entry.id));
    expect(ids.size).toBe(1);
  });

  it('answers CSV to Accept: text/csv, and JSON to ?format=json or a JSON type listed first', async () => {
    const get = (headers: Record<string, string>, query = '') =>
      t.app.inject({
        method: 'GET',
        url: `/v1/reports/ledger-summary${query}`,
        headers: { 'x-api-key': acme.key, ...headers },
      });
    expect((await get({ accept: 'text/csv' })).headers['content-type']).toBe('text/csv; charset=utf-8');
    expect((await get({ accept: 'text/csv;q=0.9, application/json' })).headers['content-type']).toBe(
      'text/csv; charset=utf-8',
    );
    expect((await get({ accept: 'application/json, text/csv' })).headers['content-type']).toContain(
      'application/json',
    );
    expect((await get({ accept: 'text/csv' }, '?format=json')).headers['content-type']).toContain(
      'application/json',
    );
    expect((await get({})).headers['content-type']).toContain('application/json');
  });

  it('refuses a bad filter or format with the JSON error, before any CSV is sent', async () => {
    const both = await acme.request(
      'GET',
      `/v1/journal-entries?format=csv&participant_id=${f.participantId}&external_id=x`,
    );
    expect(both.statusCode).toBe(400);
    expect(both.json().code).toBe('bad_request');
    const cursor = await acme.request('GET', '/v1/journal-entries?format=csv&cursor=nonsense');
    expect(cursor.statusCode).toBe(400);
    expect(cursor.json().code).toBe('invalid_cursor');
    const format = await acme.request('GET', '/v1/journal-entries?format=xml');
    expect(format.statusCode).toBe(400);
    expect(format.json().message).toContain('format');
  });

  it("exports a participant's balances, and another organization's participant answers 404", async () => {
    const response = await acme.request('GET', `/v1/participants/${f.participantId}/balances?format=csv`);
    expect(response.headers['content-disposition']).toBe('attachment; filename="balances.csv"');
    expect(records(response.body)).toEqual([
      { asset_id: f.assetId, available: String(credits * 1.25 - 0.5), held: '0.00', deferred: '0.00' },
    ]);
    const foreign = await other.request('GET', `/v1/participants/${f.participantId}/balances?format=csv`);
    expect(foreign.statusCode).toBe(404);
    const anonymous = await t.app.inject({ method: 'GET', url: '/v1/journal-entries?format=csv' });
    expect(anonymous.statusCode).toBe(401);
  });

  it("exports a program's wallet balances", async () => {
    const prefunded = await createLedgerFixture(acme, { issuance_policy: 'PREFUNDED' });
    const fundUrl = `/v1/programs/${prefunded.programId}/assets/${prefunded.assetId}/fund`;
    expect((await acme.request('POST', fundUrl, { amount: '100.50' })).statusCode).toBe(200);
    const response = await acme.request('GET', `/v1/programs/${prefunded.programId}/balance?format=csv`);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toBe('attachment; filename="wallet-balances.csv"');
    expect(records(response.body)).toEqual([
      {
        asset_id: prefunded.assetId,
        available: '100.50',
        held: '0.00',
        deferred: '0.00',
        issuance_policy: 'PREFUNDED',
      },
    ]);
    const foreign = await other.request('GET', `/v1/programs/${prefunded.programId}/balance?format=csv`);
    expect(foreign.statusCode).toBe(404);
  });

  it('exports each report with its filters', async () => {
    const summary = records(
      (await acme.request('GET', `/v1/reports/ledger-summary?format=csv&program_id=${f.programId}`)).body,
    );
    expect(summary).toEqual([
      expect.objectContaining({
        asset_id: f.assetId,
        current_balance: String(credits * 1.25 - 0.5),
        opening_balance: '',
      }),
    ]);
    const liability = records(
      (await acme.request('GET', `/v1/reports/liability?format=csv&by_bucket=true&asset_id=${f.assetId}`))
        .body,
    );
    expect(liability).toEqual([
      expect.objectContaining({
        asset_id: f.assetId,
        bucket: 'AVAILABLE',
        balance: String(credits * 1.25 - 0.5),
      }),
    ]);
    const rollforward = records(
      (
        await acme.request(
          'GET',
          `/v1/reports/liability-rollforward?format=csv&from=2026-01-15T00:00:00Z&to=2026-03-01T00:00:00Z&asset_id=${f.assetId}`,
        )
      ).body,
    );
    expect(rollforward).toEqual([expect.objectContaining({ asset_id: f.assetId, debited: '0.50' })]);
    const schedule = records(
      (
        await acme.request(
          'GET',
          `/v1/reports/expiration-schedule?format=csv&from=2026-02-01T00:00:00Z&to=2026-06-01T00:00:00Z&asset_id=${lot.assetId}`,
        )
      ).body,
    );
    expect(schedule.find((row) => row.amount === '7')).toMatchObject({
      asset_id: lot.assetId,
      bucket_start: '2026-03-01T00:00:00.000Z',
    });
    const activity = records(
      (await acme.request('GET', `/v1/reports/program-activity?format=csv&program_id=${lot.programId}`)).body,
    );
    expect(activity).toEqual([
      expect.objectContaining({ program_id: lot.programId, asset_id: lot.assetId, asset_total_issued: '7' }),
    ]);
  });
});

describe('csvCell', () => {
  it('quotes what needs quoting and keeps spreadsheets from running formulas', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('@sum')).toBe("'@sum");
    expect(csvCell('-cmd')).toBe("'-cmd");
    expect(csvCell('-12.50')).toBe('-12.50');
    expect(csvCell(null)).toBe('');
    expect(csvCell(7)).toBe('7');
    expect(csvCell({ a: 1 })).toBe('"{""a"":1}"');
  });
});
