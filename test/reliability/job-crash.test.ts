// Crash safety of the background jobs against a real server process: thousands of lots expire and
// mature, and a tier level expires for every participant, all at one moment; the server is killed
// with SIGKILL again and again while the maturity, expiry and tier lifecycle jobs work through
// them. Afterwards every lot was settled exactly once and every tier change happened exactly once
// (triggers record each committed lot transition; the state history and the outbox record each tier
// change), every balance is exact, and the ledger verifies.
import type { ChildProcess } from 'node:child_process';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/modules/ledger/index.js';
import { createApiKey } from '../../src/modules/organizations/index.js';
import { systemClock } from '../../src/platform/clock.js';
import { createTestDatabase, type TestDatabase } from '../harness.js';
import { freePort, spawnServer } from '../process/run-process.js';

/** Each participant holds one lot that expires and one that matures: twice as many lots. */
const participantCount = Number(process.env.ACCRUE_JOB_CRASH_PARTICIPANTS ?? 1500);
/**
 * Which job each kill aims at, and the share of that job's work done before it lands. The tier
 * lifecycle runs at every start and is several times faster than the lot jobs, so its kills come
 * first and early; the lot jobs' kills then spread over the rest of their run.
 */
const killPlan: ['lots' | 'tiers', number][] = [
  ['tiers', 0.15],
  ['tiers', 0.3],
  ['tiers', 0.45],
  ['lots', 0.25],
  ['lots', 0.5],
  ['lots', 0.75],
];
const setupClients = 8;
/** Minor units (scale 2): the expiring lot, the maturing lot. */
const expiringAmount = 100;
const maturingAmount = 250;

let database: TestDatabase;
let server: ChildProcess | undefined;
let port: number;
let apiKey: string;

beforeAll(async () => {
  database = await createTestDatabase();
  apiKey = (await createApiKey(database.handle.db, 'job-crash-test')).secret;
  // Every committed lot transition, once per commit: a lot settled twice would leave two rows.
  await sql`create table lot_settlements (lot_id uuid not null, kind text not null,
    at timestamptz not null default clock_timestamp())`.execute(database.handle.db);
  await sql`
    create function record_lot_settlement() returns trigger language plpgsql as $$
    begin
      if new.status = 'EXPIRED' and old.status <> 'EXPIRED' then
        insert into lot_settlements (lot_id, kind) values (new.id, 'expired');
      elsif old.status = 'DEFERRED' and new.status = 'AVAILABLE' then
        insert into lot_settlements (lot_id, kind) values (new.id, 'matured');
      end if;
      return null;
    end;
    $$`.execute(database.handle.db);
  await sql`create trigger lots_settled after update on lots for each row
    execute function record_lot_settlement()`.execute(database.handle.db);
  port = await freePort();
});

afterAll(async () => {
  if (server !== undefined && isRunning(server) && server.pid !== undefined)
    process.kill(server.pid, 'SIGKILL');
  await database.handle.close();
});

function startServer(ledgerJobsIntervalMs: number): Promise<ChildProcess> {
  return spawnServer(
    port,
    {
      DATABASE_URL: database.url,
      LOG_LEVEL: 'error',
      ACCRUE_WORKERS: '0',
      ACCRUE_POOL_SIZE: '10',
      ACCRUE_RATE_LIMIT_PER_SECOND: '0',
      ACCRUE_LEDGER_JOBS_INTERVAL_MS: String(ledgerJobsIntervalMs),
      // The outbox keeps only subscribed types: the endpoint below is on this machine, and closed.
      ACCRUE_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
    },
    { pollMs: 50 },
  );
}

/** A child killed by a signal keeps exitCode null; signalCode says it is gone. */
function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function restartServer(ledgerJobsIntervalMs: number): Promise<void> {
  if (server !== undefined) await killServer(server);
  server = await startServer(ledgerJobsIntervalMs);
}

function killServer(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (!isRunning(child)) return resolve();
    child.once('exit', () => resolve());
    if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  });
}

async function call<T>(method: string, url: string, body?: unknown): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** Runs `work` for every index with a few concurrent clients; answers how long it took. */
async function forEachConcurrently(count: number, work: (index: number) => Promise<void>): Promise<number> {
  const started = Date.now();
  let next = 0;
  const client = async () => {
    for (let index = next++; index < count; index = next++) await work(index);
  };
  await Promise.all(Array.from({ length: setupClients }, client));
  return Date.now() - started;
}

interface Setup {
  programId: string;
  assetId: string;
  participantIds: string[];
  dueAt: Date;
}

/**
 * Through the API: a LOT asset, a tier, the participants; then for each an expiring lot, a deferred
 * lot and the gold level, due a few seconds later. The server runs no ledger job meanwhile and its
 * tier lifecycle ran only at its start, so all of it is still due when the crash phase begins.
 */
async function createWorkload(): Promise<Setup> {
  const { id: programId } = await call<{ id: string }>('POST', '/v1/programs', { name: 'Job crash' });
  const { id: assetId } = await call<{ id: string }>('POST', '/v1/assets', {
    program_id: programId,
    name: 'Miles',
    symbol: 'MILE',
    inventory_mode: 'LOT',
    issuance_policy: 'UNLIMITED',
    scale: 2,
  });
  await call('POST', `/v1/programs/${programId}/tiers`, {
    key: 'status',
    levels: [
      { key: 'member', rank: 0 },
      { key: 'gold', rank: 1 },
    ],
  });
  await call('POST', '/v1/webhook-endpoints', {
    url: 'http://127.0.0.1:9/hooks',
    enabled_events: ['participant.tier_changed'],
  });
  const participantIds: string[] = [];
  const createMs = await forEachConcurrently(participantCount, async (index) => {
    const { id } = await call<{ id: string }>('POST', '/v1/participants', {
      external_id: `job-crash-${index}`,
      program_id: programId,
    });
    participantIds[index] = id;
  });
  let dueAt = new Date(0);
  const creditMs = await forEachConcurrently(participantCount, async (index) => {
    const id = participantIds[index];
    // Due a little after the requests that set it up; no job runs until the setup is over.
    const due = new Date(Date.now() + 5000);
    if (due > dueAt) dueAt = due;
    const credit = { program_id: programId, asset_id: assetId, type: 'CREDIT', description: 'setup' };
    await call('POST', `/v1/participants/${id}/balances/adjust`, {
      ...credit,
      amount: (expiringAmount / 100).toFixed(2),
      expires_at: due.toISOString(),
    });
    await call('POST', `/v1/participants/${id}/balances/adjust`, {
      ...credit,
      amount: (maturingAmount / 100).toFixed(2),
      matures_at: due.toISOString(),
    });
  });
  // The tier lifecycle runs at start and then every minute: a fresh start keeps its next run after
  // the end of the setup, so no level expires before the crash phase.
  await restartServer(3_600_000);
  const levelMs = await forEachConcurrently(participantCount, async (index) => {
    const due = new Date(Date.now() + 5000);
    if (due > dueAt) dueAt = due;
    await call(
      'PUT',
      `/v1/participants/${participantIds[index]}/state/tiers/status?program_id=${programId}`,
      {
        level: 'gold',
        expires_at: due.toISOString(),
      },
    );
  });
  process.stdout.write(
    `job crash setup: ${participantCount} participants in ${createMs} ms, their lots in ${creditMs} ms, ` +
      `their levels in ${levelMs} ms\n`,
  );
  return { programId, assetId, participantIds, dueAt };
}

interface Progress {
  expired: number;
  matured: number;
  tierChanges: number;
}

async function readProgress(): Promise<Progress> {
  const { rows } = await sql<{ expired: string; matured: string; tier_changes: string }>`
    select (select count(*) from lot_settlements where kind = 'expired')::text as expired,
      (select count(*) from lot_settlements where kind = 'matured')::text as matured,
      (select count(*) from state_history where state_type = 'tier' and operation = 'expire')::text
        as tier_changes`.execute(database.handle.db);
  const row = rows[0];
  return {
    expired: Number(row?.expired),
    matured: Number(row?.matured),
    tierChanges: Number(row?.tier_changes),
  };
}

const lotsDone = (p: Progress) => p.expired >= participantCount && p.matured >= participantCount;
const tiersDone = (p: Progress) => p.tierChanges >= participantCount;

/**
 * Waits until the running server has made progress in the job the kill aims at (the lot jobs or the
 * tier lifecycle) and that job has done `share` of its work, so the kills spread over the job's run
 * and each lands while the job is working; answers which job it was.
 */
async function waitForProgress(
  aim: 'lots' | 'tiers',
  share: number,
  before: Progress,
): Promise<'lots' | 'tiers' | 'done'> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    const now = await readProgress();
    if (lotsDone(now) && tiersDone(now)) return 'done';
    // Once the aimed job is done, the other one is the target.
    const wantTiers = (aim === 'tiers' && !tiersDone(now)) || lotsDone(now);
    if (wantTiers && now.tierChanges > before.tierChanges && now.tierChanges >= share * participantCount)
      return 'tiers';
    const settled = now.expired + now.matured;
    if (!wantTiers && settled > before.expired + before.matured && settled >= share * 2 * participantCount)
      return 'lots';
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no job progress within a minute: ${JSON.stringify(await readProgress())}`);
}

describe('background jobs under SIGKILL', () => {
  it('settles every due lot and tier expiry exactly once across repeated kills and restarts', async () => {
    // Setup with the ledger jobs effectively off (every hour), so the due moment finds all the work.
    await restartServer(3_600_000);
    const setup = await createWorkload();
    if (server !== undefined) await killServer(server);
    const untilDue = setup.dueAt.getTime() - Date.now();
    if (untilDue > 0) await new Promise((resolve) => setTimeout(resolve, untilDue + 100));
    expect(await readProgress()).toEqual({ expired: 0, matured: 0, tierChanges: 0 });

    const killedDuring = { lots: 0, tiers: 0 };
    for (let kill = 0; kill < killPlan.length; kill += 1) {
      const before = await readProgress();
      await restartServer(200);
      const [aim, share] = killPlan[kill] ?? ['lots', 1];
      const during = await waitForProgress(aim, share, before);
      if (during === 'done') break;
      if (server !== undefined) await killServer(server);
      killedDuring[during] += 1;
      const at = await readProgress();
      process.stdout.write(
        `job crash: SIGKILL ${kill + 1} during ${during === 'lots' ? 'maturity/expiry' : 'tier lifecycle'} ` +
          `(${at.expired} expired, ${at.matured} matured, ${at.tierChanges} tier changes committed)\n`,
      );
    }
    await restartServer(200);
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
      const progress = await readProgress();
      if (lotsDone(progress) && tiersDone(progress)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const kills = killedDuring.lots + killedDuring.tiers;
    expect(killedDuring.lots).toBeGreaterThanOrEqual(2);
    expect(killedDuring.tiers).toBeGreaterThanOrEqual(1);

    const db = database.handle.db;
    const twice = await assertLotsSettledOnce(setup);
    const tierTwice = await assertTierChangesOnce(setup);
    const progress = await readProgress();
    process.stdout.write(
      `job crash test: ${kills} SIGKILLs survived (${killedDuring.lots} during maturity/expiry, ` +
        `${killedDuring.tiers} during tier lifecycle), ${progress.expired} lots expired once, ` +
        `${progress.matured} matured once, ${progress.tierChanges} tier changes once, ` +
        `applied twice: ${twice + tierTwice}\n`,
    );
    expect(twice + tierTwice).toBe(0);
    expect((await verifyLedger(db, systemClock)).reports.filter((report) => !report.all_passed)).toEqual([]);

    // SIGTERM is a graceful stop: the jobs finish what they hold, exit code 0.
    const stopping = server;
    const exited = new Promise((resolve) => stopping?.once('exit', resolve));
    if (stopping?.pid !== undefined) process.kill(stopping.pid, 'SIGTERM');
    expect(await exited).toBe(0);
  }, 600_000);
});

/** Every lot settled once, every balance exact, one EXPIRATION and one MATURITY entry per holder. */
async function assertLotsSettledOnce(setup: Setup): Promise<number> {
  const db = database.handle.db;
  const { rows: lots } = await sql<{ lots: string; expired: string; matured: string }>`
    select count(*)::text as lots,
      count(*) filter (where status = 'EXPIRED' and remaining = 0 and amount = ${expiringAmount})::text
        as expired,
      count(*) filter (where status = 'AVAILABLE' and remaining = ${maturingAmount}
        and matures_at is not null)::text as matured
    from lots where asset_id = ${setup.assetId}`.execute(db);
  expect(lots[0]).toEqual({
    lots: String(2 * participantCount),
    expired: String(participantCount),
    matured: String(participantCount),
  });
  const { rows: settlements } = await sql<{ kind: string; lots: string; twice: string }>`
    select kind, count(distinct lot_id)::text as lots,
      (count(*) - count(distinct lot_id))::text as twice
    from lot_settlements group by kind order by kind`.execute(db);
  expect(settlements).toEqual([
    { kind: 'expired', lots: String(participantCount), twice: '0' },
    { kind: 'matured', lots: String(participantCount), twice: '0' },
  ]);
  // The holder's whole due set settles in one transaction: exactly one entry of each kind per holder.
  const { rows: entries } = await sql<{ action_type: string; holders: string; wrong: string }>`
    select action_type, count(*)::text as holders, count(*) filter (where entries <> 1)::text as wrong
    from (
      select j.action_type, p.owner_id, count(distinct j.id) as entries
      from journal_entries j join postings p
        on p.organization_id = j.organization_id and p.journal_entry_id = j.id
      where j.action_type in ('EXPIRATION', 'MATURITY') and p.owner_type = 'PARTICIPANT'
        and p.asset_id = ${setup.assetId}
      group by j.action_type, p.owner_id
    ) per_holder
    group by action_type order by action_type`.execute(db);
  expect(entries).toEqual([
    { action_type: 'EXPIRATION', holders: String(participantCount), wrong: '0' },
    { action_type: 'MATURITY', holders: String(participantCount), wrong: '0' },
  ]);
  const { rows: balances } = await sql<{ bucket: string; holders: string; wrong: string }>`
    select bucket, count(*)::text as holders,
      count(*) filter (where balance <> case bucket when 'AVAILABLE' then ${maturingAmount} else 0 end)::text
        as wrong
    from ledger_accounts
    where owner_type = 'PARTICIPANT' and asset_id = ${setup.assetId} and bucket in ('AVAILABLE', 'DEFERRED')
    group by bucket order by bucket`.execute(db);
  expect(balances).toEqual([
    { bucket: 'AVAILABLE', holders: String(participantCount), wrong: '0' },
    { bucket: 'DEFERRED', holders: String(participantCount), wrong: '0' },
  ]);
  const { rows: breakage } = await sql<{ total: string }>`
    select coalesce(sum(amount), 0)::text as total from postings
    where owner_type = 'SYSTEM' and asset_id = ${setup.assetId} and journal_entry_id in (
      select id from journal_entries where action_type = 'EXPIRATION')`.execute(db);
  expect(breakage[0]?.total).toBe(String(expiringAmount * participantCount));
  return settlements.reduce((sum, row) => sum + Number(row.twice), 0);
}

/** Every participant's gold level expired to member once: one history row, one notification. */
async function assertTierChangesOnce(setup: Setup): Promise<number> {
  const db = database.handle.db;
  const { rows: levels } = await sql<{ level_key: string; holders: string }>`
    select level_key, count(*)::text as holders from participant_tiers
    where program_id = ${setup.programId} and expires_at is null group by level_key`.execute(db);
  expect(levels).toEqual([{ level_key: 'member', holders: String(participantCount) }]);
  const { rows: history } = await sql<{ holders: string; twice: string; from_gold: string }>`
    select count(*)::text as holders, count(*) filter (where changes <> 1)::text as twice,
      count(*) filter (where from_gold)::text as from_gold
    from (
      select owner_id, count(*) as changes, bool_and(old_value = 'gold' and new_value = 'member'
        and changed_by_job = 'tier_lifecycle') as from_gold
      from state_history where state_type = 'tier' and operation = 'expire' group by owner_id
    ) per_holder`.execute(db);
  expect(history[0]).toEqual({
    holders: String(participantCount),
    twice: '0',
    from_gold: String(participantCount),
  });
  const { rows: outbox } = await sql<{ holders: string; twice: string }>`
    select count(*)::text as holders, count(*) filter (where changes <> 1)::text as twice
    from (
      select payload->>'participant_id', count(*) as changes from outbox
      where topic = 'participant.tier_changed' and payload->>'change' = 'expire'
      group by payload->>'participant_id'
    ) per_holder`.execute(db);
  expect(outbox[0]).toEqual({ holders: String(participantCount), twice: '0' });
  return Number(history[0]?.twice) + Number(outbox[0]?.twice);
}
