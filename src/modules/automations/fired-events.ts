// The SYSTEM events automations fire and how they are written, shared by the scheduler's runs and
// by participant_state subscriptions.
import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import type { AutomationRow } from './automations.store.js';

/** One SYSTEM event an automation fires. */
export interface FiredEvent {
  organizationId: string;
  programId: string;
  /** null: a program-scope event with no participant. */
  participantId: string | null;
  idempotencyKey: string;
  eventData: Record<string, unknown>;
  eventTimestamp: Date;
}

/**
 * Stores SYSTEM events through the event ingest's validation and idempotency, in two steps: the
 * first checks and builds the events (CPU only, no database; it throws a DomainError when an
 * event_data is over its limit), the step it answers stores them in `trx` (a DomainError when they
 * are refused, e.g. the program accepts no events). Two steps so that a fan-out builds its next
 * chunk while the database writes the current one. Given by the events module (wired in main.ts),
 * so automations need not import it.
 */
export type FireEvents = (events: FiredEvent[], now: Date) => StoreFiredEvents;
export type StoreFiredEvents = (trx: Database) => Promise<void>;

/** Runs `work` inside a savepoint, so that a refusal leaves the surrounding transaction usable. */
export async function withSavepoint(trx: Database, work: () => Promise<void>): Promise<void> {
  await sql`savepoint fire_event`.execute(trx);
  try {
    await work();
    await sql`release savepoint fire_event`.execute(trx);
  } catch (error) {
    await sql`rollback to savepoint fire_event`.execute(trx);
    throw error;
  }
}

export function eventDataOf(row: AutomationRow): Record<string, unknown> {
  return { ...row.payload, type: row.event_name };
}
