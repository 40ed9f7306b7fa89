import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type Tenant, type TestApp } from '../../../test/harness.js';
import { newId } from '../../platform/ids.js';
import { claimPendingEvents, releaseExpiredLeases } from './event-queue.store.js';

let t: TestApp;
let acme: Tenant;
let programId: string;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  programId = (await acme.request('POST', '/v1/programs', { name: 'Queue' })).json().id;
});

describe('claiming events', () => {
  it('claims runs per participant in ingestion order, spreading a small claim over participants first', async () => {
    const events = ['a', 'a', 'a', 'b', 'a', 'b'].map((who, n) => ({
      program_id: programId,
      external_id: who,
      idempotency_key: `queue-${n}`,
      event_timestamp: '2024-01-15T10:30:00Z',
      event_data: { n },
    }));
    await acme.request('POST', '/v1/events/batch', { events });
    const db = t.database.handle.db;
    const describeClaim = (claimed: { external_id: string | null; event_data: Record<string, unknown> }[]) =>
      claimed.map((event) => `${event.external_id}${event.event_data.n}`);

    const first = await claimPendingEvents(db, newId(), 3, 60_000);
    expect(describeClaim(first)).toEqual(['a0', 'a1', 'b3']);
    // Every remaining event has an earlier one of its participant in PROCESSING: nothing to claim.
    expect(await claimPendingEvents(db, newId(), 10, 60_000)).toEqual([]);

    // The holder died: once its leases expire, the events return and are claimed again, in order.
    await db
      .withTables<{ event_queue: { lease_expires_at: Date } }>()
      .updateTable('event_queue')
      .set({ lease_expires_at: new Date(Date.now() - 1000) })
      .execute();
    expect(await releaseExpiredLeases(db)).toBe(3);
    const again = await claimPendingEvents(db, newId(), 10, 60_000);
    expect(describeClaim(again)).toEqual(['a0', 'a1', 'a2', 'b3', 'a4', 'b5']);
  });

  it('gives each event to one of many concurrent claims, a participant’s events in ingestion order', async () => {
    const participants = Array.from({ length: 12 }, (_, n) => `concurrent-${n}`);
    const events = Array.from({ length: 240 }, (_, n) => ({
      program_id: programId,
      external_id: participants[(n * 7) % participants.length],
      idempotency_key: `concurrent-${n}`,
      event_timestamp: '2024-01-15T10:30:00Z',
      event_data: { n },
    }));
    for (let start = 0; start < events.length; start += 100) {
      await acme.request('POST', '/v1/events/batch', { events: events.slice(start, start + 100) });
    }
    const db = t.database.handle.db;
    const seen = new Map<string, number[]>();
    let claimedCount = 0;
    // Eight workers claim small runs at once and finish each claim (its queue rows deleted) before
    // the next; a participant's later events become claimable only once its earlier ones are done.
    const work = async () => {
      for (let idle = 0; claimedCount < events.length && idle < 2_000; ) {
        const claimed = (await claimPendingEvents(db, newId(), 5, 60_000)).filter((event) =>
          event.external_id?.startsWith('concurrent-'),
        );
        if (claimed.length === 0) {
          idle += 1;
          await new Promise((resolve) => setTimeout(resolve, 1));
          continue;
        }
        claimedCount += claimed.length;
        for (const event of claimed) {
          const key = event.external_id ?? '';
          seen.set(key, [...(seen.get(key) ?? []), event.event_data.n as number]);
        }
        await sql`delete from event_queue where event_id = any(${claimed.map((event) => event.id)}::uuid[])`.execute(
          db,
        );
      }
    };
    await Promise.all(Array.from({ length: 8 }, work));
    expect(claimedCount).toBe(events.length);
    for (const participant of participants) {
      const expected = events.flatMap((event) =>
        event.external_id === participant ? [event.event_data.n] : [],
      );
      expect(seen.get(participant)).toEqual(expected);
    }
  });

  it('reads each run only as far as the claim has room beside the other heads, and fills that room', async () => {
    const events = ['long', 'long', 'short', 'long', 'long', 'long'].map((who, n) => ({
      program_id: programId,
      external_id: `room-${who}`,
      idempotency_key: `room-${n}`,
      event_timestamp: '2024-01-15T10:30:00Z',
      event_data: { n },
    }));
    await acme.request('POST', '/v1/events/batch', { events });
    const db = t.database.handle.db;
    // Two heads and room for four: the short run's head, and three of the long run (its longest share).
    const claimed = await claimPendingEvents(db, newId(), 4, 60_000);
    expect(claimed.map((event) => `${event.external_id}${event.event_data.n}`)).toEqual([
      'room-long0',
      'room-long1',
      'room-short2',
      'room-long3',
    ]);
  });

  it('reads the queue in ingestion order through its index when its statistics say it holds no pending event', async () => {
    const db = t.database.handle.db;
    // Analyzed while every row in it is claimed: to the planner, no row is pending.
    await sql`update event_queue set claim_token = ${newId()}::uuid, lease_expires_at = now() + interval '1 hour'
      where claim_token is null`.execute(db);
    await sql`analyze event_queue`.execute(db);
    for (let batch = 0; batch < 20; batch += 1) {
      const events = Array.from({ length: 100 }, (_, n) => ({
        program_id: programId,
        external_id: `stale-${batch * 100 + n}`,
        idempotency_key: `stale-${batch * 100 + n}`,
        event_timestamp: '2024-01-15T10:30:00Z',
        event_data: { n: batch * 100 + n },
      }));
      await acme.request('POST', '/v1/events/batch', { events });
    }
    // The scans of this connection's transactions not yet reported count too: the claim's are the difference.
    const scansOf = async (trx: typeof db) =>
      (
        await sql<{ seq_scan: number; idx_scan: number }>`select seq_scan::int, idx_scan::int
          from pg_stat_xact_user_tables where relname = 'event_queue'`.execute(trx)
      ).rows[0] ?? { seq_scan: 0, idx_scan: 0 };
    const { claimed, before, after } = await db.transaction().execute(async (trx) => {
      const before = await scansOf(trx);
      const claimed = await claimPendingEvents(trx, newId(), 10, 60_000);
      return { claimed, before, after: await scansOf(trx) };
    });
    expect(claimed.map((event) => event.event_data.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // A sequential scan read all 2,000 pending rows and sorted them to take the first ten.
    expect(after.seq_scan - before.seq_scan).toBe(0);
    expect(after.idx_scan - before.idx_scan).toBeGreaterThan(0);
  });

  it('runs without JIT compilation whatever the server says', async () => {
    // With sorts off the claim's plan costs above 10^10, which on a server with jit on (a standalone
    // PostgreSQL's default) compiled every claim: 158 ms for a claim of 5 on PostgreSQL 15, 0.4 ms without.
    const { rows } = await sql<{ settings: string[] }>`select proconfig as settings from pg_proc
      where proname = 'claim_pending_events'`.execute(t.database.handle.db);
    expect(rows[0]?.settings).toEqual(
      expect.arrayContaining(['enable_seqscan=off', 'enable_sort=off', 'jit=off']),
    );
  });
});
