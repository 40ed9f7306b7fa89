// Rule actions: which fields each type takes (checked when a rule is saved, CEL compiled then), and
// how a stored action becomes a resolved action — plain data with every CEL-valued field computed —
// for the event processor to apply through the ledger and state modules. Pure.
import type { CelValue } from '@bufbuild/cel';
import { invalidField } from '../../platform/errors.js';
import { isUuid } from '../../platform/ids.js';
import { rulePayloadBytesMax } from '../../platform/limits.js';
import { isDecimalString, numberToDecimalString } from '../../platform/money.js';
import {
  type CelBindings,
  CelCompileError,
  type CelOutcome,
  type CompiledExpression,
  compileExpression,
} from './cel-environment.js';
import type { Action, ActionType } from './rules.schemas.js';
import { parseDuration, resolveTimeReference } from './schedules.js';

type ActionField = Exclude<keyof Action, 'type'>;

interface FieldRule {
  required: ActionField[];
  optional: ActionField[];
}

const ledgerOptional: ActionField[] = ['description', 'reference_id', 'target'];

/** The fields of each action type (spec 4.3); any other field is refused rather than ignored. */
export const actionFields: Record<ActionType, FieldRule> = {
  CREDIT: {
    required: ['asset_id', 'amount'],
    optional: [...ledgerOptional, 'bucket', 'expires_at', 'matures_at'],
  },
  DEBIT: { required: ['asset_id', 'amount'], optional: [...ledgerOptional, 'allow_negative'] },
  HOLD: { required: ['asset_id', 'amount'], optional: ledgerOptional },
  RELEASE: { required: ['asset_id'], optional: [...ledgerOptional, 'amount'] },
  FORFEIT: { required: ['asset_id', 'amount'], optional: [...ledgerOptional, 'bucket'] },
  VOID_HOLD: { required: ['asset_id', 'reference_id'], optional: ['description', 'target'] },
  TAG: { required: ['tag'], optional: ['target'] },
  UNTAG: { required: ['tag'], optional: ['target'] },
  COUNTER: { required: ['key', 'value'], optional: ['reset_after', 'target'] },
  SET_ATTRIBUTE: { required: ['key', 'value'], optional: ['target'] },
  SET_TIER: { required: ['tier', 'level'], optional: ['target'] },
  SCHEDULE_EVENT: { required: ['event_name', 'delay'], optional: ['payload', 'target'] },
  BROADCAST: { required: ['event_name'], optional: ['payload'] },
};

/** Actions that move value; the processor refuses them for SUSPENDED or CLOSED participants. */
export const financialActionTypes: ReadonlySet<ActionType> = new Set([
  'CREDIT',
  'DEBIT',
  'HOLD',
  'RELEASE',
  'FORFEIT',
  'COUNTER',
]);

/** Program state can be the target of these only; ledger actions always address a participant. */
const programTargetTypes: ReadonlySet<ActionType> = new Set(['TAG', 'UNTAG', 'COUNTER', 'SET_ATTRIBUTE']);
/** A group holds balances and state, but no tiers and no events of its own. */
const groupTargetTypes: ReadonlySet<ActionType> = new Set([
  ...programTargetTypes,
  'CREDIT',
  'DEBIT',
  'HOLD',
  'RELEASE',
  'FORFEIT',
  'VOID_HOLD',
]);

/** A static decimal is kept exact; anything else is CEL. */
type NumberSource = { kind: 'static'; text: string } | { kind: 'cel'; expression: CompiledExpression };

export interface CompiledAction {
  definition: Action;
  amount?: NumberSource;
  value?: NumberSource;
  referenceId?: CompiledExpression;
  externalId?: CompiledExpression;
  participantId?: CompiledExpression;
  /** A GROUP target whose id is CEL rather than a literal group id. */
  groupId?: CompiledExpression;
}

/** Checks one action as it is saved and compiles its CEL fields; throws a validation error. */
export function compileAction(action: Action, index: number): CompiledAction {
  const path = (field: string) => `actions[${index}].${field}`;
  checkFields(action, path);
  checkCrossFields(action, path);
  const compile = (field: string, source: string) => compileField(path(field), source);
  const compiledAction: CompiledAction = { definition: action };
  if (action.amount !== undefined) compiledAction.amount = numberSource(path('amount'), action.amount);
  if (action.type === 'COUNTER' && action.value !== undefined) {
    compiledAction.value = numberSource(path('value'), action.value);
  }
  if (action.reference_id !== undefined)
    compiledAction.referenceId = compile('reference_id', action.reference_id);
  const target = action.target;
  if (target?.external_id !== undefined) {
    compiledAction.externalId = compile('target.external_id', target.external_id);
  }
  if (target?.participant_id !== undefined) {
    compiledAction.participantId = compile('target.participant_id', target.participant_id);
  }
  if (target?.type === 'GROUP' && target.id !== undefined && !isUuid(target.id)) {
    compiledAction.groupId = compile('target.id', target.id);
  }
  return compiledAction;
}

function checkFields(action: Action, path: (field: string) => string): void {
  const rule = actionFields[action.type];
  for (const field of rule.required) {
    if (action[field] === undefined)
      throw invalidField(path(field), `is required for ${action.type}`, 'required');
  }
  const allowed = new Set<string>(['type', ...rule.required, ...rule.optional]);
  for (const field of Object.keys(action)) {
    if (!allowed.has(field))
      throw invalidField(path(field), `is not used by ${action.type} actions`, 'unknown');
  }
}

function checkCrossFields(action: Action, path: (field: string) => string): void {
  if (action.type === 'CREDIT' && action.bucket === 'HELD') {
    if (action.reference_id === undefined)
      throw invalidField(path('reference_id'), 'is required to credit HELD', 'required');
    if (action.matures_at !== undefined)
      throw invalidField(path('matures_at'), 'cannot be used to credit HELD');
  }
  if (action.type === 'RELEASE' && action.amount === undefined && action.reference_id === undefined) {
    throw invalidField(path('amount'), 'RELEASE needs an amount, a reference_id or both', 'required');
  }
  for (const field of ['expires_at', 'matures_at'] as const) {
    const text = action[field];
    if (text !== undefined && resolveTimeReference(text, new Date(0)) === undefined) {
      throw invalidField(path(field), 'must be a duration such as "720h" or an RFC 3339 timestamp');
    }
  }
  for (const field of ['delay', 'reset_after'] as const) {
    const text = action[field];
    if (text !== undefined && !(Number(parseDuration(text)) > 0)) {
      throw invalidField(path(field), 'must be a positive Go-style duration such as "24h" or "90m"');
    }
  }
  if (
    action.payload !== undefined &&
    Buffer.byteLength(JSON.stringify(action.payload)) > rulePayloadBytesMax
  ) {
    throw invalidField(path('payload'), `must be at most ${rulePayloadBytesMax} bytes of JSON`);
  }
  checkTarget(action, path);
}

function checkTarget(action: Action, path: (field: string) => string): void {
  const target = action.target;
  if (target === undefined) return;
  const selectors = [target.id, target.external_id, target.participant_id].filter((s) => s !== undefined);
  if (target.type === 'PROGRAM') {
    if (!programTargetTypes.has(action.type)) {
      throw invalidField(
        path('target.type'),
        `PROGRAM is a target only for ${[...programTargetTypes].join(', ')}`,
      );
    }
    if (selectors.length > 0)
      throw invalidField(path('target'), 'a PROGRAM target takes no participant selector');
  }
  if (target.type === 'GROUP') checkGroupTarget(action, path);
  if (target.type === 'PARTICIPANT' && target.id !== undefined && !isUuid(target.id)) {
    throw invalidField(path('target.id'), 'must be a participant id (a UUID)');
  }
  if (selectors.length > 1) {
    throw invalidField(path('target'), 'give at most one of id, external_id and participant_id');
  }
}

function checkGroupTarget(action: Action, path: (field: string) => string): void {
  const target = action.target;
  if (!groupTargetTypes.has(action.type)) {
    throw invalidField(path('target.type'), `GROUP is a target only for ${[...groupTargetTypes].join(', ')}`);
  }
  if (target?.id === undefined)
    throw invalidField(path('target.id'), 'is required for a GROUP target', 'required');
  if (target.external_id !== undefined || target.participant_id !== undefined) {
    throw invalidField(path('target'), 'a GROUP target is named by id only');
  }
}

function compileField(field: string, source: string): CompiledExpression {
  try {
    return compileExpression(source, 'value');
  } catch (error) {
    if (error instanceof CelCompileError) throw invalidField(field, error.message);
    throw error;
  }
}

function numberSource(field: string, text: string): NumberSource {
  if (isDecimalString(text)) return { kind: 'static', text };
  return { kind: 'cel', expression: compileField(field, text) };
}

/** Where an action lands. The event's own participant unless the action names another. */
export type ResolvedTarget =
  | { kind: 'event_participant' }
  | { kind: 'participant_id'; participant_id: string }
  | { kind: 'external_id'; external_id: string }
  | { kind: 'group'; group_id: string }
  | { kind: 'program' };

interface LedgerFields {
  asset_id: string;
  description: string | null;
  reference_id: string | null;
  target: ResolvedTarget;
}

/** An action with every value computed: what the event processor applies, as data. */
export type ResolvedAction =
  | (LedgerFields & {
      type: 'CREDIT';
      amount: string;
      bucket: 'AVAILABLE' | 'HELD' | 'DEFERRED';
      expires_at: Date | null;
      matures_at: Date | null;
    })
  | (LedgerFields & { type: 'DEBIT'; amount: string; allow_negative: boolean })
  | (LedgerFields & { type: 'HOLD'; amount: string })
  | (LedgerFields & { type: 'RELEASE'; amount: string | null })
  | (LedgerFields & { type: 'FORFEIT'; amount: string; bucket: 'AVAILABLE' | 'HELD' })
  | (LedgerFields & { type: 'VOID_HOLD'; reference_id: string })
  | { type: 'TAG' | 'UNTAG'; tag: string; target: ResolvedTarget }
  | { type: 'COUNTER'; key: string; value: string; reset_after: string | null; target: ResolvedTarget }
  | { type: 'SET_ATTRIBUTE'; key: string; value: string; target: ResolvedTarget }
  | { type: 'SET_TIER'; tier: string; level: string; target: ResolvedTarget }
  | {
      type: 'SCHEDULE_EVENT';
      event_name: string;
      payload: Record<string, unknown>;
      delay: string;
      process_at: Date;
      target: ResolvedTarget;
    }
  | { type: 'BROADCAST'; event_name: string; payload: Record<string, unknown> };

/** Why an action could not be resolved: a CEL failure, or a value of the wrong kind. */
export type ActionFailure = Exclude<CelOutcome, { kind: 'value' }>;

export type ActionResolution = { ok: true; action: ResolvedAction } | { ok: false; failure: ActionFailure };

class ResolutionFailure extends Error {
  constructor(readonly failure: ActionFailure) {
    super(failure.message);
  }
}

/** Resolves one compiled action against the event; never throws for user-caused problems. */
export function resolveAction(
  compiled: CompiledAction,
  bindings: CelBindings,
  eventTime: Date,
): ActionResolution {
  try {
    return { ok: true, action: buildResolvedAction(compiled, bindings, eventTime) };
  } catch (error) {
    if (error instanceof ResolutionFailure) return { ok: false, failure: error.failure };
    throw error;
  }
}

function run(expression: CompiledExpression, bindings: CelBindings): CelValue {
  const outcome = expression.run(bindings);
  if (outcome.kind !== 'value') throw new ResolutionFailure(outcome);
  return outcome.value;
}

function invalidValue(message: string): ResolutionFailure {
  return new ResolutionFailure({ kind: 'error', message });
}

function resolveNumber(source: NumberSource, field: string, bindings: CelBindings): string {
  if (source.kind === 'static') return source.text;
  const value = run(source.expression, bindings);
  if (typeof value === 'string' && isDecimalString(value)) return value;
  if (typeof value !== 'number' && typeof value !== 'bigint') {
    throw invalidValue(`${field} must evaluate to a number`);
  }
  if (typeof value === 'number' && !Number.isFinite(value))
    throw invalidValue(`${field} is not a finite number`);
  return numberToDecimalString(value);
}

/** A decimal string with a non-zero digit and no sign: cheaper than parsing on the hot path. */
const positiveDecimalPattern = /^[0-9.]*[1-9][0-9.]*$/;

function resolveAmount(source: NumberSource | undefined, bindings: CelBindings): string {
  if (source === undefined) throw invalidValue('amount is missing');
  const amount = resolveNumber(source, 'amount', bindings);
  if (!positiveDecimalPattern.test(amount)) throw invalidValue(`amount must be positive, got ${amount}`);
  return amount;
}

function resolveText(expression: CompiledExpression, field: string, bindings: CelBindings): string {
  const value = run(expression, bindings);
  const text = typeof value === 'bigint' ? value.toString() : value;
  if (typeof text !== 'string' || text === '')
    throw invalidValue(`${field} must evaluate to a non-empty string`);
  return text;
}

function resolveTarget(compiled: CompiledAction, bindings: CelBindings): ResolvedTarget {
  const target = compiled.definition.target;
  if (target?.type === 'PROGRAM') return { kind: 'program' };
  if (compiled.groupId !== undefined) {
    return { kind: 'group', group_id: resolveText(compiled.groupId, 'target.id', bindings) };
  }
  if (target?.type === 'GROUP') return { kind: 'group', group_id: target.id ?? '' };
  if (target?.id !== undefined) return { kind: 'participant_id', participant_id: target.id };
  if (compiled.participantId !== undefined) {
    return {
      kind: 'participant_id',
      participant_id: resolveText(compiled.participantId, 'target.participant_id', bindings),
    };
  }
  if (compiled.externalId !== undefined) {
    return {
      kind: 'external_id',
      external_id: resolveText(compiled.externalId, 'target.external_id', bindings),
    };
  }
  return { kind: 'event_participant' };
}

function buildResolvedAction(
  compiled: CompiledAction,
  bindings: CelBindings,
  eventTime: Date,
): ResolvedAction {
  const action = compiled.definition;
  const target = resolveTarget(compiled, bindings);
  const referenceId =
    compiled.referenceId === undefined ? null : resolveText(compiled.referenceId, 'reference_id', bindings);
  const ledger = (assetId: string | undefined): LedgerFields => ({
    asset_id: assetId ?? '',
    description: action.description ?? null,
    reference_id: referenceId,
    target,
  });
  switch (action.type) {
    case 'CREDIT':
      return resolveCredit(compiled, bindings, eventTime, ledger(action.asset_id));
    case 'DEBIT':
      return {
        ...ledger(action.asset_id),
        type: 'DEBIT',
        amount: resolveAmount(compiled.amount, bindings),
        allow_negative: action.allow_negative ?? false,
      };
    case 'HOLD':
      return { ...ledger(action.asset_id), type: 'HOLD', amount: resolveAmount(compiled.amount, bindings) };
    case 'RELEASE': {
      const amount = compiled.amount === undefined ? null : resolveAmount(compiled.amount, bindings);
      return { ...ledger(action.asset_id), type: 'RELEASE', amount };
    }
    case 'FORFEIT': {
      const amount = resolveAmount(compiled.amount, bindings);
      return { ...ledger(action.asset_id), type: 'FORFEIT', amount, bucket: action.bucket ?? 'AVAILABLE' };
    }
    case 'VOID_HOLD':
      return { ...ledger(action.asset_id), type: 'VOID_HOLD', reference_id: referenceId ?? '' };
    default:
      return resolveStateAction(compiled, bindings, eventTime, target);
  }
}

function resolveCredit(
  compiled: CompiledAction,
  bindings: CelBindings,
  eventTime: Date,
  ledger: LedgerFields,
): ResolvedAction {
  const action = compiled.definition;
  const at = (text: string | undefined) =>
    text === undefined ? null : (resolveTimeReference(text, eventTime) ?? null);
  const maturesAt = at(action.matures_at);
  const bucket = action.bucket === 'HELD' ? 'HELD' : maturesAt !== null ? 'DEFERRED' : 'AVAILABLE';
  return {
    ...ledger,
    type: 'CREDIT',
    amount: resolveAmount(compiled.amount, bindings),
    bucket,
    expires_at: at(action.expires_at),
    matures_at: maturesAt,
  };
}

function resolveStateAction(
  compiled: CompiledAction,
  bindings: CelBindings,
  eventTime: Date,
  target: ResolvedTarget,
): ResolvedAction {
  const action = compiled.definition;
  switch (action.type) {
    case 'TAG':
    case 'UNTAG':
      return { type: action.type, tag: (action.tag ?? '').trim().toLowerCase(), target };
    case 'COUNTER': {
      const value = compiled.value === undefined ? '1' : resolveNumber(compiled.value, 'value', bindings);
      return {
        type: 'COUNTER',
        key: action.key ?? '',
        value,
        reset_after: action.reset_after ?? null,
        target,
      };
    }
    case 'SET_ATTRIBUTE':
      return { type: 'SET_ATTRIBUTE', key: action.key ?? '', value: action.value ?? '', target };
    case 'SET_TIER':
      return { type: 'SET_TIER', tier: action.tier ?? '', level: action.level ?? '', target };
    case 'SCHEDULE_EVENT': {
      const delay = action.delay ?? '0s';
      const processAt = new Date(eventTime.getTime() + (parseDuration(delay) ?? 0));
      const payload = action.payload ?? {};
      return {
        type: 'SCHEDULE_EVENT',
        event_name: action.event_name ?? '',
        payload,
        delay,
        process_at: processAt,
        target,
      };
    }
    default:
      return { type: 'BROADCAST', event_name: action.event_name ?? '', payload: action.payload ?? {} };
  }
}

/**
 * The processor's check before it posts a resolved amount: an amount with more decimals than the
 * asset's scale fails the event (ARCHITECTURE.md), with this message; trailing zeros do not count.
 * Rules use round() to avoid it.
 */
export function amountScaleFailure(action: ResolvedAction, assetScale: number): string | undefined {
  const amount = 'amount' in action ? action.amount : null;
  if (amount === null) return undefined;
  const decimals = amount.split('.')[1]?.replace(/0+$/, '').length ?? 0;
  return decimals > assetScale ? `action ${action.type} failed: amount exceeds asset scale` : undefined;
}
