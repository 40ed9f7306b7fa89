// The queue of participants whose state changed (participant_state_changes), which the automation
// scheduler drains to re-evaluate participant_state subscriptions off the event engine's path.
// Written in the transaction of the change: state history, status, enrollment.
import { type RawBuilder, sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';

/**
 * The insert into participant_state_changes of `changed` (organization_id, participant id), only
 * for organizations with an active participant_state automation, so that other organizations pay
 * one index probe and leave nothing for the scheduler to drain.
 */
export function queueChangedParticipants(changed: RawBuilder<unknown>) {
  return sql`insert into participant_state_changes (organization_id, participant_id)
    select changed.organization_id, changed.participant_id
    from (${changed}) as changed(organization_id, participant_id)
    where exists (select 1 from automations a where a.organization_id = changed.organization_id
      and a.trigger_type = 'participant_state' and a.status = 'active')`;
}
/**
 * Queues participants whose state changed outside the history (their status) for the scheduler's
 * re-evaluation of participant_state automations.
 */
export async function queueStateChanges(
  db: Database,
  organizationId: string,
  participantIds: string[],
): Promise<void> {
  if (participantIds.length === 0) return;
  await queueChangedParticipants(
    sql`select ${organizationId}::uuid, id from unnest(${participantIds}::uuid[]) as p(id)`,
  ).execute(db);
}
