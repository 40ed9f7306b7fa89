// The rule actions SCHEDULE_EVENT and BROADCAST as automations (source rule_action) on the one
// scheduler. Made in the transaction of the event whose rule asked for them, so they exist exactly
// when that event completed; source_key (event, rule, event name, target) makes a retried event
// make them once.
import type { Database } from '../../platform/db/database.js';
import { nameLengthMax } from '../../platform/limits.js';
import { newAutomationRow } from './automations.service.js';
import * as store from './automations.store.js';

export interface RuleActionAutomation {
  organizationId: string;
  programId: string;
  /** The event whose rule acted, and the rule. */
  sourceEventId: string;
  ruleId: string;
  eventName: string;
  payload: Record<string, unknown>;
  /** SCHEDULE_EVENT's participant; null for BROADCAST (every ACTIVE participant of the program). */
  participantId: string | null;
  /** When the events are due: SCHEDULE_EVENT's process_at, or now. */
  fireAt: Date;
  now: Date;
}

export async function createRuleActionAutomation(db: Database, draft: RuleActionAutomation): Promise<void> {
  const row = newAutomationRow(draft.organizationId, draft.programId, draft.now);
  const target = draft.participantId ?? 'all';
  const broadcast = draft.participantId === null;
  Object.assign(row, {
    name: `${broadcast ? 'BROADCAST' : 'SCHEDULE_EVENT'} ${draft.eventName}`.slice(0, nameLengthMax),
    description: `rule ${draft.ruleId}, event ${draft.sourceEventId}`,
    event_name: draft.eventName,
    payload: { ...draft.payload, event_name: draft.eventName, source_event_id: draft.sourceEventId },
    scope: broadcast ? 'participants' : 'program',
    trigger_type: broadcast ? 'immediate' : 'one_time',
    trigger_at: broadcast ? null : draft.fireAt,
    participant_id: draft.participantId,
    source: 'rule_action',
    source_key: `${draft.sourceEventId}:${draft.ruleId}:${draft.eventName}:${target}`,
    next_run_at: draft.fireAt,
  });
  await store.insertAutomation(db, row);
}
