// SQL of redemptions, the lots they consumed, and their reversals.
import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import type { LedgerEntityFinder } from '../programs/index.js';

/** A participant of the organization that a program may name as its redemption target. */
export const findLedgerEntity: LedgerEntityFinder = async (db, organizationId, id) => {
  const result = await sql<{ status: string }>`select status from participants
    where organization_id = ${organizationId} and id = ${id}`.execute(db);
  const row = result.rows[0];
  return row === undefined ? undefined : { type: 'PARTICIPANT', status: row.status };
};
