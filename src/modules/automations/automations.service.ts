import type { Clock } from '../../platform/clock.js';
import { toIso, toIsoOrNull } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { isUniqueViolation, withTransaction } from '../../platform/db/transaction.js';
import { DomainError, invalidField, notFound } from '../../platform/errors.js';
import { decodeKeyset, type PageResult, toPage } from '../../platform/http/pagination.js';
import { newId } from '../../platform/ids.js';
import { pageSizeDefault } from '../../platform/limits.js';
import { findParticipantById } from '../participants/index.js';
import { findProgramRow } from '../programs/index.js';
import {
  checkConditions,
  checkCron,
  checkPayload,
  checkScheduleConfig,
  checkTriggerFields,
  checkTriggerScope,
  nextRunAfter,
  notTriggerable,
  readTriggerAt,
} from './automation-rules.js';
import type {
  Automation,
  CreateAutomationBody,
  ListAutomationsQuery,
  ListSubscriptionsQuery,
  Subscription,
  UpdateAutomationBody,
} from './automations.schemas.js';
import type { AutomationChanges, AutomationRow } from './automations.store.js';
import * as store from './automations.store.js';
import { checkCronExpression, checkTimezone } from './cron-schedule.js';
import { clearSubscriptionSchedules, endSubscriptions } from './subscriptions.store.js';

export interface AutomationKey {
  organizationId: string;
  programId: string;
  automationId: string;
}

export async function createAutomation(
  db: Database,
  clock: Clock,
  organizationId: string,
  programId: string,
  body: CreateAutomationBody,
): Promise<Automation> {
  await findProgramRow(db, organizationId, programId);
  const row = await buildApiAutomation(db, clock, organizationId, programId, body);
  try {
    await store.insertAutomation(db, row);
  } catch (error) {
    if (isUniqueViolation(error, 'automations_name')) {
      throw new DomainError('conflict', `an automation named "${body.name}" exists in this program`, {
        field: 'name',
        reason: 'conflict',
      });
    }
    throw error;
  }
  return toAutomation(row);
}

async function buildApiAutomation(
  db: Database,
  clock: Clock,
  organizationId: string,
  programId: string,
  body: CreateAutomationBody,
): Promise<AutomationRow> {
  const { trigger } = body;
  checkTriggerScope(trigger.type, body.scope);
  checkTriggerFields(trigger.type, trigger);
  const timezone = trigger.timezone ?? 'UTC';
  if (trigger.cron_expression !== undefined) checkCron(trigger.cron_expression, timezone, 'trigger.');
  else checkTimezone(timezone, 'trigger.timezone');
  const triggerAt =
    trigger.trigger_at === undefined ? null : readTriggerAt(trigger.trigger_at, clock, 'trigger.trigger_at');
  if (trigger.schedule_type !== undefined) {
    checkScheduleConfig(trigger.schedule_type, trigger.schedule_config ?? {}, timezone);
  }
  if (body.scope === 'program' && body.participant_filter !== undefined) {
    throw invalidField('participant_filter', 'is only for scope participants');
  }
  await checkTarget(db, organizationId, body);
  checkConditions(body.participant_filter, body.guard_condition);
  checkPayload(body.payload ?? {});
  const now = clock();
  const row = newAutomationRow(organizationId, programId, now);
  Object.assign(row, {
    name: body.name,
    description: body.description ?? null,
    event_name: body.event_name,
    payload: body.payload ?? {},
    scope: body.scope,
    trigger_type: trigger.type,
    cron_expression: trigger.cron_expression ?? null,
    timezone,
    trigger_at: triggerAt,
    schedule_type: trigger.schedule_type ?? null,
    schedule_config: trigger.schedule_type === undefined ? null : (trigger.schedule_config ?? {}),
    participant_filter: body.participant_filter ?? null,
    guard_condition: body.guard_condition ?? null,
    filter_hints: body.filter_hints ?? [],
    participant_id: body.participant_id?.toLowerCase() ?? null,
  });
  row.next_run_at = firstRunAt(row, now);
  return row;
}

/**
 * A program-scope run sends one event with no participant, or, when `participant_id` is given, one
 * event for that participant (which must exist). Scope participants takes no `participant_id`.
 */
async function checkTarget(db: Database, organizationId: string, body: CreateAutomationBody): Promise<void> {
  if (body.participant_id === undefined) return;
  if (body.scope === 'participants') throw invalidField('participant_id', 'is only for scope program');
  const participant = await findParticipantById(db, organizationId, body.participant_id.toLowerCase());
  if (participant === undefined) throw notFound('participant');
}

export function newAutomationRow(organizationId: string, programId: string, now: Date): AutomationRow {
  return {
    organization_id: organizationId,
    id: newId(),
    program_id: programId,
    name: '',
    description: null,
    event_name: '',
    payload: {},
    scope: 'program',
    trigger_type: 'one_time',
    cron_expression: null,
    timezone: 'UTC',
    trigger_at: null,
    schedule_type: null,
    schedule_config: null,
    participant_filter: null,
    guard_condition: null,
    filter_hints: [],
    participant_id: null,
    status: 'active',
    source: 'api',
    source_key: null,
    execution_status: 'idle',
    execution_started_at: null,
    execution_completed_at: null,
    execution_error: null,
    error_message: null,
    last_error: null,
    last_evaluated_at: null,
    last_run_at: null,
    next_run_at: null,
    processed_at: null,
    run_seq: 0,
    run_fired_at: null,
    fan_out_after: null,
    participants_total: null,
    participants_processed: 0,
    refresh_requested_at: null,
    refresh_started_at: null,
    refresh_after: null,
    created_at: now,
    updated_at: now,
  };
}

function firstRunAt(row: AutomationRow, now: Date): Date | null {
  if (row.trigger_type === 'immediate') return now;
  if (row.trigger_type === 'one_time') return row.trigger_at;
  return nextRunAfter(row, now);
}

export async function getAutomation(db: Database, key: AutomationKey): Promise<Automation> {
  return toAutomation(await findRow(db, key));
}

async function findRow(db: Database, key: AutomationKey, forUpdate = false): Promise<AutomationRow> {
  const row = await store.findAutomation(db, key.organizationId, key.programId, key.automationId, forUpdate);
  if (row === undefined) throw notFound('automation');
  return row;
}

export async function listAutomations(
  db: Database,
  organizationId: string,
  programId: string,
  query: ListAutomationsQuery,
): Promise<PageResult<Automation>> {
  await findProgramRow(db, organizationId, programId);
  const limit = query.limit ?? pageSizeDefault;
  const scope = 'automations';
  const rows = await store.listAutomations(db, organizationId, programId, {
    search: query.search,
    triggerType: query.trigger_type,
    scope: query.scope,
    status: query.status,
    source: query.source,
    after: decodeKeyset(query.cursor, scope),
    limit,
  });
  return toPage(rows, limit, scope, (row) => [row.created_at, row.id], toAutomation);
}

export async function updateAutomation(
  db: Database,
  clock: Clock,
  key: AutomationKey,
  body: UpdateAutomationBody,
): Promise<Automation> {
  return withTransaction(db, async (trx) => {
    const row = await findRow(trx, key, true);
    if (row.status === 'archived')
      throw invalidField('status', 'an archived automation cannot be changed', 'archived');
    const changes = readChanges(row, body, clock);
    // Subscriptions count from the resume, as cron does: a pause leaves no backlog to fire.
    if (row.trigger_type === 'participant_state' && body.status === 'active' && row.status === 'paused') {
      await clearSubscriptionSchedules(trx, row, clock());
    }
    try {
      return toAutomation(await store.updateAutomation(trx, row, { ...changes, updated_at: clock() }));
    } catch (error) {
      if (isUniqueViolation(error, 'automations_name')) {
        throw new DomainError('conflict', `an automation named "${body.name}" exists in this program`, {
          field: 'name',
          reason: 'conflict',
        });
      }
      throw error;
    }
  });
}

function readChanges(row: AutomationRow, body: UpdateAutomationBody, clock: Clock): AutomationChanges {
  const changes: AutomationChanges = {};
  if (body.timezone !== undefined) {
    checkTimezone(body.timezone, 'timezone');
    changes.timezone = body.timezone;
  }
  if (body.cron_expression !== undefined) {
    if (row.trigger_type !== 'cron') throw invalidField('cron_expression', 'is only for trigger type cron');
    checkCronExpression(body.cron_expression, 'cron_expression');
    changes.cron_expression = body.cron_expression;
  }
  if (body.trigger_at !== undefined) {
    if (row.trigger_type !== 'one_time')
      throw invalidField('trigger_at', 'is only for trigger type one_time');
    changes.trigger_at = readTriggerAt(body.trigger_at, clock, 'trigger_at');
    changes.next_run_at = changes.trigger_at;
    changes.processed_at = null;
  }
  if (body.schedule_config !== undefined) {
    if (row.schedule_type === null)
      throw invalidField('schedule_config', 'is only for trigger type participant_state');
    checkScheduleConfig(row.schedule_type, body.schedule_config, changes.timezone ?? row.timezone);
    changes.schedule_config = body.schedule_config;
  }
  if (body.participant_filter !== undefined && row.scope === 'program' && body.participant_filter !== null) {
    throw invalidField('participant_filter', 'is only for scope participants');
  }
  checkConditions(body.participant_filter, body.guard_condition);
  if (body.payload !== undefined) checkPayload(body.payload);
  copyDefined(changes, body, [
    'name',
    'description',
    'event_name',
    'payload',
    'status',
    'participant_filter',
    'guard_condition',
    'filter_hints',
  ]);
  // A cron schedule counts from now when it changes or resumes: a pause does not leave a backlog.
  const resumes = body.status === 'active' && row.status === 'paused';
  const rescheduled = changes.cron_expression !== undefined || changes.timezone !== undefined;
  if (row.trigger_type === 'cron' && (resumes || rescheduled)) {
    changes.next_run_at = nextRunAfter({ ...row, ...changes }, clock());
  }
  const audienceChanged =
    body.participant_filter !== undefined || body.guard_condition !== undefined || rescheduled;
  if (row.trigger_type === 'participant_state' && (resumes || audienceChanged || body.schedule_config)) {
    changes.refresh_requested_at = clock();
  }
  return changes;
}

function copyDefined<K extends keyof UpdateAutomationBody>(
  changes: AutomationChanges,
  body: UpdateAutomationBody,
  keys: K[],
): void {
  for (const key of keys) {
    if (body[key] !== undefined) (changes as Record<string, unknown>)[key] = body[key];
  }
}

/**
 * DELETE: archived for good. It never fires again; a fan-out already running finishes; its
 * subscriptions end.
 */
export async function archiveAutomation(db: Database, clock: Clock, key: AutomationKey): Promise<Automation> {
  return withTransaction(db, async (trx) => {
    const row = await findRow(trx, key, true);
    if (row.status === 'archived') return toAutomation(row);
    if (row.trigger_type === 'participant_state') await endSubscriptions(trx, row, clock());
    const changes = { status: 'archived' as const, next_run_at: null, updated_at: clock() };
    return toAutomation(await store.updateAutomation(trx, row, changes));
  });
}

/**
 * Manual fire: the run is made due now, and the scheduler starts it on its next pass. Refused for
 * paused and archived automations, a run already pending or executing, one_time+program (it fires
 * only at trigger_at) and participant_state (refresh-subscriptions).
 */
export async function triggerAutomation(db: Database, clock: Clock, key: AutomationKey): Promise<Automation> {
  return withTransaction(db, async (trx) => {
    const row = await findRow(trx, key, true);
    const running = row.execution_status === 'pending' || row.execution_status === 'executing';
    const supported =
      row.trigger_type !== 'participant_state' &&
      !(row.trigger_type === 'one_time' && row.scope === 'program');
    if (row.status !== 'active' || running || !supported) throw notTriggerable();
    const now = clock();
    return toAutomation(await store.updateAutomation(trx, row, { next_run_at: now, updated_at: now }));
  });
}

/**
 * Cancels the run in progress: execution_status becomes failed, participants already sent keep
 * their events, the rest are skipped. The automation stays active and fires on its next schedule.
 */
export async function cancelAutomation(db: Database, clock: Clock, key: AutomationKey): Promise<Automation> {
  return withTransaction(db, async (trx) => {
    const row = await findRow(trx, key, true);
    if (row.execution_status !== 'pending' && row.execution_status !== 'executing') {
      throw new DomainError('bad_request', 'Automation has no pending or executing run to cancel', {
        reason: 'not_running',
      });
    }
    const now = clock();
    return toAutomation(
      await store.updateAutomation(trx, row, {
        execution_status: 'failed',
        execution_error: 'canceled',
        execution_completed_at: now,
        updated_at: now,
      }),
    );
  });
}

/** Asks the scheduler for a full re-evaluation of the subscriptions; it starts within seconds. */
export async function refreshSubscriptions(
  db: Database,
  clock: Clock,
  key: AutomationKey,
): Promise<Record<string, never>> {
  const row = await findRow(db, key);
  if (row.trigger_type !== 'participant_state') {
    throw invalidField('trigger_type', 'refresh-subscriptions is only for participant_state automations');
  }
  if (row.status !== 'active') throw invalidField('status', `the automation is ${row.status}, not active`);
  await store.updateAutomation(db, row, { refresh_requested_at: clock() });
  return {};
}

export async function listSubscriptions(
  db: Database,
  key: AutomationKey,
  query: ListSubscriptionsQuery,
): Promise<PageResult<Subscription>> {
  await findRow(db, key);
  const limit = query.limit ?? pageSizeDefault;
  const scope = 'automation-subscriptions';
  const rows = await store.listSubscriptions(db, key.organizationId, key.automationId, {
    status: query.status,
    after: decodeKeyset(query.cursor, scope),
    limit,
  });
  return toPage(rows, limit, scope, (row) => [row.created_at, row.id], toSubscription);
}

function toSubscription(row: store.SubscriptionRow): Subscription {
  return {
    id: row.id,
    automation_id: row.automation_id,
    participant_id: row.participant_id,
    status: row.status,
    next_trigger_at: toIsoOrNull(row.next_trigger_at),
    last_triggered_at: toIsoOrNull(row.last_triggered_at),
    trigger_count: row.trigger_count,
    retry_count: row.retry_count,
    last_error: row.last_error,
    created_at: toIso(row.created_at),
  };
}

export function toAutomation(row: AutomationRow): Automation {
  return {
    id: row.id,
    program_id: row.program_id,
    name: row.name,
    description: row.description,
    event_name: row.event_name,
    payload: row.payload,
    scope: row.scope,
    trigger_type: row.trigger_type,
    cron_expression: row.cron_expression,
    timezone: row.timezone,
    trigger_at: toIsoOrNull(row.trigger_at),
    schedule_type: row.schedule_type,
    schedule_config: row.schedule_config,
    participant_filter: row.participant_filter,
    guard_condition: row.guard_condition,
    filter_hints: row.filter_hints,
    participant_id: row.participant_id,
    status: row.status,
    source: row.source,
    execution_status: row.execution_status,
    execution_started_at: toIsoOrNull(row.execution_started_at),
    execution_completed_at: toIsoOrNull(row.execution_completed_at),
    execution_error: row.execution_error,
    error_message: row.error_message,
    last_error: row.last_error,
    last_evaluated_at: toIsoOrNull(row.last_evaluated_at),
    last_run_at: toIsoOrNull(row.last_run_at),
    next_run_at: toIsoOrNull(row.next_run_at),
    processed_at: toIsoOrNull(row.processed_at),
    participants_total: row.participants_total,
    participants_processed: row.participants_processed,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  };
}
