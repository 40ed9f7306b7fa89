// participant_state automations on the one scheduler. Each participant who is ACTIVE, enrolled in
// the program and matches participant_filter has one subscription, whose next_trigger_at comes from
// the schedule (subscription-schedule.ts). A scheduler pass, in this order:
// 1. fires the due subscriptions: one SYSTEM event each, guard_condition checked at fire time, with
//    the idempotency key automation:{automationId}:{subscriptionId}:{occurrence} (THRESHOLD:
//    ...:threshold), claimed FOR UPDATE SKIP LOCKED so that several schedulers never fire one twice;
// 2. re-evaluates the participants whose state changed (queued in participant_state_changes by the
//    transaction that changed it, so the event engine does no CEL work for this);
// 3. advances full re-evaluations (refresh-subscriptions, a changed automation, and every hour),
//    chunk by chunk, resumable, ending the subscriptions of participants who no longer match.
// Firing first means a re-evaluation never moves a due time that has not fired; a re-evaluation
// that finds a subscription due keeps it due when its schedule still names that time.
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { DomainError } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import {
  subscriptionBatchMax,
  subscriptionRefreshIntervalMs,
  subscriptionRetriesMax,
  subscriptionRetryDelayMs,
} from '../../platform/limits.js';
import { type Audience, compileAudience, selectRecipients } from './audience.js';
import type { AutomationRow, FanOutParticipant, SubscriptionRow } from './automations.store.js';
import { updateAutomation } from './automations.store.js';
import { eventDataOf, type FiredEvent, type FireEvents, withSavepoint } from './fired-events.js';
import { nextTriggerAt } from './subscription-schedule.js';
import * as store from './subscriptions.store.js';

export interface SubscriptionDeps {
  db: Database;
  clock: Clock;
  fireEvents: FireEvents;
  /** Subscriptions or participants per transaction. */
  chunkSize?: number;
}

/** Fires what is due, then re-evaluates until `deadline` (Date.now() ms). Answers the events sent. */
export async function runSubscriptionPass(deps: SubscriptionDeps, deadline: number): Promise<number> {
  const batch = deps.chunkSize ?? subscriptionBatchMax;
  let sent = 0;
  for (;;) {
    const fired = await fireDueSubscriptions(deps, batch);
    sent += fired.sent;
    if (fired.claimed < batch || Date.now() >= deadline) break;
  }
  let more = true;
  while (more && Date.now() < deadline) more = (await reevaluateChangedParticipants(deps, batch)) === batch;
  more = true;
  while (more && Date.now() < deadline) more = await advanceRefresh(deps, batch);
  return sent;
}

async function fireDueSubscriptions(deps: SubscriptionDeps, batch: number) {
  return withTransaction(deps.db, async (trx) => {
    const now = deps.clock();
    const due = await store.claimDueSubscriptions(trx, now, batch);
    const keys = new Map(due.map((row) => [row.automation_id, row.organization_id]));
    const automations = await store.findAutomationsByIds(trx, [...keys.values()], [...keys.keys()]);
    let sent = 0;
    for (const automation of automations) {
      const subscriptions = due.filter((row) => row.automation_id === automation.id);
      sent += await fireSubscriptions(deps, trx, automation, subscriptions, now);
    }
    return { claimed: due.length, sent };
  });
}

/** One automation's due subscriptions: sent, skipped by the guard, or ended; answers the events sent. */
async function fireSubscriptions(
  deps: SubscriptionDeps,
  trx: Database,
  automation: AutomationRow,
  subscriptions: SubscriptionRow[],
  now: Date,
): Promise<number> {
  const ids = subscriptions.map((row) => row.participant_id);
  const participants = await store.listEnrolledParticipants(
    trx,
    automation.organization_id,
    automation.program_id,
    ids,
    now,
  );
  const byId = new Map(participants.map((participant) => [participant.id, participant]));
  const filter = compileAudience(automation.participant_filter, null);
  const guard = compileAudience(null, automation.guard_condition);
  const eventData = eventDataOf(automation);
  const updates: SubscriptionRow[] = [];
  const toFire: { row: SubscriptionRow; participant: FanOutParticipant; event: FiredEvent }[] = [];
  for (const row of subscriptions) {
    const occurrence = row.next_trigger_at ?? now;
    const participant = byId.get(row.participant_id);
    if (participant === undefined || !passes(filter, participant, eventData, occurrence)) {
      updates.push(ended(row, now));
    } else if (!passes(guard, participant, eventData, occurrence)) {
      updates.push(advanced(automation, row, participant, now, false));
    } else {
      toFire.push({ row, participant, event: toEvent(automation, row, eventData, occurrence) });
    }
  }
  const refusal = await fireEvents(
    deps,
    trx,
    toFire.map((item) => item.event),
    now,
  );
  for (const { row, participant } of toFire) {
    updates.push(
      refusal === undefined ? advanced(automation, row, participant, now, true) : retried(row, refusal, now),
    );
  }
  await store.saveSubscriptions(trx, updates);
  return refusal === undefined ? toFire.length : 0;
}

function passes(audience: Audience, participant: FanOutParticipant, data: Record<string, unknown>, at: Date) {
  return selectRecipients(audience, [participant], data, at).length === 1;
}

/** The events, inside a savepoint; the refusal (a DomainError) when they were refused. */
async function fireEvents(deps: SubscriptionDeps, trx: Database, events: FiredEvent[], now: Date) {
  try {
    await withSavepoint(trx, () => deps.fireEvents(events, now)(trx));
    return undefined;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
}

function toEvent(
  automation: AutomationRow,
  row: SubscriptionRow,
  eventData: Record<string, unknown>,
  occurrence: Date,
): FiredEvent {
  const occurrenceKey = automation.schedule_type === 'THRESHOLD' ? 'threshold' : occurrence.toISOString();
  return {
    organizationId: row.organization_id,
    programId: automation.program_id,
    participantId: row.participant_id,
    idempotencyKey: `automation:${automation.id}:${row.id}:${occurrenceKey}`,
    eventData,
    eventTimestamp: occurrence,
  };
}

/** After an occurrence, sent or skipped by the guard: the next one after now; THRESHOLD is done once sent. */
function advanced(
  automation: AutomationRow,
  row: SubscriptionRow,
  participant: FanOutParticipant,
  now: Date,
  sent: boolean,
): SubscriptionRow {
  const threshold = automation.schedule_type === 'THRESHOLD';
  return {
    ...row,
    status: threshold && sent ? 'completed' : 'active',
    next_trigger_at: threshold ? null : nextTriggerAt(automation, participant, row.started_at, now),
    last_triggered_at: sent ? now : row.last_triggered_at,
    trigger_count: row.trigger_count + (sent ? 1 : 0),
    retry_count: 0,
    last_error: sent ? null : row.last_error,
    updated_at: now,
  };
}

/** The participant no longer matches (filter, status, enrollment): the subscription ends. */
function ended(row: SubscriptionRow, now: Date): SubscriptionRow {
  return { ...row, status: 'completed', next_trigger_at: null, evaluated_at: now, updated_at: now };
}

/** The event was refused (e.g. the program is suspended): retried later, failed after the last retry. */
function retried(row: SubscriptionRow, refusal: DomainError, now: Date): SubscriptionRow {
  const retryCount = row.retry_count + 1;
  const failed = retryCount > subscriptionRetriesMax;
  const delayMs = subscriptionRetryDelayMs * 2 ** (retryCount - 1);
  return {
    ...row,
    status: failed ? 'failed' : 'active',
    next_trigger_at: failed ? null : new Date(now.getTime() + delayMs),
    retry_count: retryCount,
    last_error: `${refusal.code}: ${refusal.message}`,
    updated_at: now,
  };
}

/** Takes a batch of queued participants and re-evaluates them for every automation of their organization. */
async function reevaluateChangedParticipants(deps: SubscriptionDeps, batch: number): Promise<number> {
  return withTransaction(deps.db, async (trx) => {
    const now = deps.clock();
    const changes = await store.takeStateChanges(trx, batch);
    const byOrganization = new Map<string, Set<string>>();
    for (const change of changes) {
      const ids = byOrganization.get(change.organization_id) ?? new Set();
      byOrganization.set(change.organization_id, ids.add(change.participant_id));
    }
    // In (organization, automation, participant) order, the order in which locks are taken.
    for (const organizationId of [...byOrganization.keys()].sort()) {
      const ids = [...(byOrganization.get(organizationId) ?? [])];
      for (const automation of await store.listStateAutomations(trx, organizationId)) {
        await reevaluate(trx, automation, ids, now);
      }
    }
    return changes.length;
  });
}

/** One chunk of one automation's full re-evaluation; false when none is due. */
async function advanceRefresh(deps: SubscriptionDeps, batch: number): Promise<boolean> {
  return withTransaction(deps.db, async (trx) => {
    const now = deps.clock();
    const automation = await store.claimRefreshingAutomation(
      trx,
      new Date(now.getTime() - subscriptionRefreshIntervalMs),
    );
    if (automation === undefined) return false;
    const startedAt = automation.refresh_started_at ?? now;
    const { organization_id: organizationId, program_id: programId } = automation;
    const ids = await store.listEnrolledIdsAfter(
      trx,
      organizationId,
      programId,
      automation.refresh_after,
      batch,
    );
    await reevaluate(trx, automation, ids, now);
    if (ids.length === batch) {
      await updateAutomation(trx, automation, {
        refresh_started_at: startedAt,
        refresh_after: ids.at(-1) ?? null,
      });
      return true;
    }
    await store.endUnseenSubscriptions(trx, automation, startedAt, now);
    const requested = automation.refresh_requested_at;
    await updateAutomation(trx, automation, {
      refresh_started_at: null,
      refresh_after: null,
      refresh_requested_at: requested !== null && requested > startedAt ? requested : null,
      last_evaluated_at: now,
    });
    return true;
  });
}

/** Creates, reschedules or ends the automation's subscriptions of these participants. */
async function reevaluate(trx: Database, automation: AutomationRow, ids: string[], now: Date): Promise<void> {
  const { organization_id: organizationId, program_id: programId } = automation;
  const participants = await store.listEnrolledParticipants(trx, organizationId, programId, ids, now);
  const audience = compileAudience(automation.participant_filter, null);
  const matching = new Map(
    selectRecipients(audience, participants, eventDataOf(automation), now).map((p) => [p.id, p]),
  );
  const existing = await store.lockSubscriptions(trx, organizationId, automation.id, ids);
  const byParticipant = new Map(existing.map((row) => [row.participant_id, row]));
  const rows: SubscriptionRow[] = [];
  for (const id of ids) {
    const row = evaluated(automation, byParticipant.get(id), id, matching.get(id), now);
    if (row !== undefined) rows.push(row);
  }
  await store.saveSubscriptions(trx, rows);
}

/** The subscription after a re-evaluation; undefined when nothing is to be written. */
function evaluated(
  automation: AutomationRow,
  row: SubscriptionRow | undefined,
  participantId: string,
  participant: FanOutParticipant | undefined,
  now: Date,
): SubscriptionRow | undefined {
  if (participant === undefined) return row?.status === 'active' ? ended(row, now) : undefined;
  if (row?.status === 'failed') return undefined;
  if (row?.status === 'completed' && automation.schedule_type === 'THRESHOLD' && row.trigger_count > 0) {
    return undefined;
  }
  const continuing = row?.status === 'active';
  const startedAt = continuing ? row.started_at : now;
  const due =
    continuing && row.next_trigger_at !== null && row.next_trigger_at <= now ? row.next_trigger_at : null;
  const from = due === null ? now : new Date(due.getTime() - 1);
  // A refused event waiting for its retry keeps the retry's time.
  const retrying = continuing && row.retry_count > 0;
  return {
    ...(row ?? newSubscription(automation, participantId, now)),
    status: 'active',
    started_at: startedAt,
    next_trigger_at: retrying ? row.next_trigger_at : nextTriggerAt(automation, participant, startedAt, from),
    evaluated_at: now,
    updated_at: now,
  };
}

function newSubscription(automation: AutomationRow, participantId: string, now: Date): SubscriptionRow {
  return {
    organization_id: automation.organization_id,
    id: newId(),
    automation_id: automation.id,
    participant_id: participantId,
    status: 'active',
    next_trigger_at: null,
    last_triggered_at: null,
    trigger_count: 0,
    retry_count: 0,
    last_error: null,
    started_at: now,
    evaluated_at: now,
    created_at: now,
    updated_at: now,
  };
}
