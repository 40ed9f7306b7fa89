// A rule whose budget caps it, events for many participants that race for it, and what they
// issued. Shared by the budget tests with workers in one process
// (src/modules/events/budget-cap.test.ts) and in two processes (test/process/budget-cap.test.ts).
import { sql } from 'kysely';
import { expect } from 'vitest';
import type { Database } from '../src/platform/db/database.js';

/** One API call, through app.inject() or over HTTP: the status and the parsed body. */
export type Call = (
  method: string,
  url: string,
  body?: unknown,
) => Promise<{ status: number; body: unknown }>;

export interface CappedRule {
  programId: string;
  assetId: string;
  ruleId: string;
}

/** Credits per event and the budget: the budget pays exactly `capCredits` events. */
const creditPerEvent = '10';
const budgetLimit = '50';
export const capCredits = 5;

async function created(call: Call, url: string, body: unknown): Promise<string> {
  const response = await call('POST', url, body);
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return (response.body as { id: string }).id;
}

/** A program with a scale-2 asset and one rule crediting 10 per event, with a budget of 50. */
export async function createCappedRule(call: Call, symbol: string): Promise<CappedRule> {
  const programId = await created(call, '/v1/programs', { name: `Capped ${symbol}` });
  const assetId = await created(call, '/v1/assets', {
    program_id: programId,
    name: 'Points',
    symbol,
    inventory_mode: 'SIMPLE',
    issuance_policy: 'UNLIMITED',
    scale: 2,
  });
  const ruleId = await created(call, '/v1/rules', {
    program_id: programId,
    name: 'Capped earn',
    condition: 'true',
    actions: [{ type: 'CREDIT', asset_id: assetId, amount: creditPerEvent }],
    budgets: [{ asset_id: assetId, limit: budgetLimit }],
  });
  return { programId, assetId, ruleId };
}

/** `count` events, each for a participant of its own, so that workers apply them in parallel. */
export function capEvents(programId: string, prefix: string, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    program_id: programId,
    external_id: `${prefix}-${i}`,
    idempotency_key: `${prefix}-${i}`,
    event_timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    event_data: { i },
  }));
}

/** Waits until `count` events of the program have ended (COMPLETED or FAILED). */
export async function waitForEvents(db: Database, programId: string, count: number): Promise<void> {
  for (let waited = 0; waited < 60_000; waited += 50) {
    const { rows } = await sql<{ ended: number }>`
      select count(*)::int as ended from events_with_status
      where program_id = ${programId} and status in ('COMPLETED', 'FAILED')`.execute(db);
    if (rows[0]?.ended === count) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the events of program ${programId} were not processed`);
}

/**
 * Every event completed; the journal holds exactly `capCredits` credits of the rule (summed from
 * its postings to participants); every other event's evaluation is BUDGET_EXCEEDED; the budget
 * shows it spent, at the asset's scale.
 */
export async function expectCapHeld(db: Database, call: Call, rule: CappedRule, count: number) {
  const { rows: events } = await sql<{ id: string; status: string }>`
    select id, status from events_with_status where program_id = ${rule.programId}`.execute(db);
  expect(events).toHaveLength(count);
  expect(events.filter((event) => event.status !== 'COMPLETED')).toEqual([]);
  const { rows: journal } = await sql<{ entries: number; issued: string }>`
    select count(distinct j.id)::int as entries, coalesce(sum(p.amount), 0)::text as issued
    from journal_entries j
    join postings p on p.organization_id = j.organization_id and p.journal_entry_id = j.id
    where j.rule_id = ${rule.ruleId} and p.owner_type = 'PARTICIPANT'`.execute(db);
  expect(journal[0]).toEqual({ entries: capCredits, issued: String(capCredits * 1000) });
  let exceeded = 0;
  for (const event of events) {
    const response = await call('GET', `/v1/events/${event.id}?include_skipped=true`);
    const evaluations = (response.body as { rule_evaluations: { reason: string | null }[] }).rule_evaluations;
    exceeded += evaluations.filter((evaluation) => evaluation.reason === 'BUDGET_EXCEEDED').length;
  }
  expect(exceeded).toBe(count - capCredits);
  const shown = await call('GET', `/v1/rules/${rule.ruleId}`);
  expect((shown.body as { budgets: unknown[] }).budgets).toMatchObject([
    { asset_id: rule.assetId, limit: '50.00', consumed: '50.00' },
  ]);
}
