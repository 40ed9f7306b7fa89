// The rules between an automation's fields that a schema cannot say: which trigger goes with which
// scope, what each trigger type needs, and when its next run is. Pure.
import { Type } from 'typebox';
import type { Clock } from '../../platform/clock.js';
import { badRequest, DomainError, invalidField } from '../../platform/errors.js';
import { oversizedEventData } from '../../platform/event-data.js';
import { compileBodyPartValidator } from '../../platform/http/validation.js';
import { attributeKeyLengthMax, cronExpressionLengthMax } from '../../platform/limits.js';
import { readTimestamp } from '../../platform/timestamp.js';
import { parseDuration } from '../rules/index.js';
import { compileAutomationCondition } from './audience.js';
import type { ScheduleType, TriggerType } from './automations.schemas.js';
import type { AutomationRow } from './automations.store.js';
import { checkCronExpression, checkTimezone, nextCronRun } from './cron-schedule.js';

const scopesByTrigger: Record<TriggerType, AutomationRow['scope'][]> = {
  cron: ['program', 'participants'],
  one_time: ['program', 'participants'],
  immediate: ['participants'],
  participant_state: ['participants'],
};

export function checkTriggerScope(triggerType: TriggerType, scope: AutomationRow['scope']): void {
  if (scopesByTrigger[triggerType].includes(scope)) return;
  throw invalidField('scope', `trigger type ${triggerType} needs scope participants, not ${scope}`);
}

/** Fields of the trigger that only some trigger types take. */
export function checkTriggerFields(
  type: TriggerType,
  fields: { cron_expression?: string; trigger_at?: string; schedule_type?: string },
): void {
  const misplaced = (field: string, owner: string) =>
    invalidField(`trigger.${field}`, `is only for trigger type ${owner}`);
  if (type !== 'cron' && fields.cron_expression !== undefined) throw misplaced('cron_expression', 'cron');
  if (type !== 'one_time' && fields.trigger_at !== undefined) throw misplaced('trigger_at', 'one_time');
  if (type !== 'participant_state' && fields.schedule_type !== undefined) {
    throw misplaced('schedule_type', 'participant_state');
  }
  const required = { cron: 'cron_expression', one_time: 'trigger_at', participant_state: 'schedule_type' };
  const name = (required as Record<string, string | undefined>)[type];
  if (name !== undefined && fields[name as keyof typeof fields] === undefined) {
    throw invalidField(`trigger.${name}`, `is required for trigger type ${type}`, 'required');
  }
}

export function checkCron(expression: string, timezone: string, prefix: string): void {
  checkCronExpression(expression, `${prefix}cron_expression`);
  checkTimezone(timezone, `${prefix}timezone`);
}

/** A one_time trigger_at: a timestamp after now. */
export function readTriggerAt(text: string, clock: Clock, field: string): Date {
  const at = readTimestamp(text, field);
  if (at.getTime() <= clock().getTime()) throw invalidField(field, 'must be in the future', 'in_past');
  return at;
}

export function checkConditions(filter: string | null | undefined, guard: string | null | undefined): void {
  if (filter) compileAutomationCondition(filter, 'participant_filter');
  if (guard) compileAutomationCondition(guard, 'guard_condition');
}

export function checkPayload(payload: Record<string, unknown>): void {
  const oversized = oversizedEventData(payload, 'payload');
  if (oversized) throw oversized;
}

const AttributeName = Type.String({ minLength: 1, maxLength: attributeKeyLengthMax });
const scheduleConfigSchemas: Record<ScheduleType, object> = {
  ATTRIBUTE_DATE: Type.Object(
    {
      attribute: AttributeName,
      time: Type.Optional(
        Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'HH:MM, default 00:00' }),
      ),
    },
    { additionalProperties: false },
  ),
  INTERVAL: Type.Object(
    { interval: Type.String({ minLength: 2, maxLength: 32, description: 'Go duration, e.g. "720h"' }) },
    { additionalProperties: false },
  ),
  CRON: Type.Object(
    { cron_expression: Type.String({ minLength: 1, maxLength: cronExpressionLengthMax }) },
    { additionalProperties: false },
  ),
  THRESHOLD: Type.Object({ counter: AttributeName, value: Type.Number() }, { additionalProperties: false }),
};
const scheduleConfigValidators = Object.fromEntries(
  Object.entries(scheduleConfigSchemas).map(([type, schema]) => [type, compileBodyPartValidator(schema)]),
) as Record<ScheduleType, (value: unknown) => { field: string; reason: string; message: string }[]>;

export function checkScheduleConfig(
  type: ScheduleType,
  config: Record<string, unknown>,
  timezone: string,
): void {
  const problems = scheduleConfigValidators[type](config).map((problem) => ({
    ...problem,
    field: `schedule_config${problem.field === '' ? '' : `.${problem.field}`}`,
    message: `schedule_config (${type}): ${problem.message}`,
  }));
  if (problems.length > 0) throw badRequest(problems);
  if (type === 'CRON') checkCron(String(config.cron_expression), timezone, 'schedule_config.');
  if (type === 'INTERVAL' && !((parseDuration(String(config.interval)) ?? 0) > 0)) {
    throw invalidField('schedule_config.interval', 'must be a positive Go-style duration such as "720h"');
  }
}

/** When the next run is due after `from`, for the triggers the scheduler starts by time. */
export function nextRunAfter(
  row: Pick<AutomationRow, 'trigger_type' | 'cron_expression' | 'timezone'>,
  from: Date,
): Date | null {
  if (row.trigger_type === 'cron' && row.cron_expression !== null) {
    return nextCronRun(row.cron_expression, row.timezone, from);
  }
  return null;
}

export const notTriggerable = () =>
  new DomainError(
    'bad_request',
    'Automation cannot be triggered (must be active and idle or cron+program); canceled automations stay active and can be triggered again once idle',
    { reason: 'not_triggerable' },
  );
