// A resolved action as an evaluation row stores it: without the fields that hold their type's
// default (null, the event's own participant as target, the AVAILABLE bucket, allow_negative false),
// which are most of a typical action, and without the fields that equal the rule's own definition of
// the action (its type, asset, key or tag, and an amount or value written as a literal). Such an
// action has no `type`: reading takes those fields from the rule version's definition at the same
// position. Reading fills the defaults back in and orders the keys as PostgreSQL's jsonb orders
// them, so an evaluation reads exactly as it did when the whole action was stored; actions stored
// with their type (whole, or without the defaults only, as older rows hold them) read unchanged.
import type { ResolvedAction } from './rule-actions.js';

type StoredAction = Record<string, unknown>;

const eventParticipant = { kind: 'event_participant' };
const ledgerDefaults = { description: null, reference_id: null, target: eventParticipant };

/** Per action type, the fields left out when they hold these values. */
const defaultsByType: Record<ResolvedAction['type'], StoredAction> = {
  CREDIT: { ...ledgerDefaults, bucket: 'AVAILABLE', expires_at: null, matures_at: null },
  DEBIT: { ...ledgerDefaults, allow_negative: false },
  HOLD: ledgerDefaults,
  RELEASE: { ...ledgerDefaults, amount: null },
  FORFEIT: { ...ledgerDefaults, bucket: 'AVAILABLE' },
  VOID_HOLD: { description: null, target: eventParticipant },
  TAG: { target: eventParticipant },
  UNTAG: { target: eventParticipant },
  COUNTER: { reset_after: null, target: eventParticipant },
  SET_ATTRIBUTE: { target: eventParticipant },
  SET_TIER: { target: eventParticipant },
  SCHEDULE_EVENT: { target: eventParticipant },
  BROADCAST: {},
};

function defaultsOf(type: unknown): StoredAction {
  return defaultsByType[type as ResolvedAction['type']] ?? {};
}

function isDefault(value: unknown, fallback: unknown): boolean {
  if (value === fallback) return true;
  return fallback === eventParticipant && (value as { kind?: unknown } | null)?.kind === 'event_participant';
}

/** A rule's definition of an action, as saved (rules.actions, and each version's snapshot). */
export type ActionDefinition = Readonly<Record<string, unknown>>;

/** The fields an action may share with its definition, left out when they hold the same value. */
const definitionFields = new Set([
  'type',
  'asset_id',
  'amount',
  'bucket',
  'allow_negative',
  'description',
  'reference_id',
  'delay',
  'event_name',
  'key',
  'value',
  'reset_after',
  'tag',
  'tier',
  'level',
]);

/**
 * The action without its default fields and, given its definition, without the fields equal to the
 * definition's. It is stored that way only when reading it back gives the action exactly: reading
 * takes every shared field the definition holds, so each must be one the action stores.
 */
export function compactAction(action: ResolvedAction, definition?: ActionDefinition): StoredAction {
  const defaults = defaultsOf(action.type);
  const stored: StoredAction = {};
  for (const [key, value] of Object.entries(action)) {
    if (!(key in defaults) || !isDefault(value, defaults[key])) stored[key] = value;
  }
  if (definition?.type !== action.type) return stored;
  for (const key of definitionFields) if (key in definition && !(key in stored)) return stored;
  const relative: StoredAction = {};
  for (const [key, value] of Object.entries(stored)) {
    if (!definitionFields.has(key) || value !== definition[key]) relative[key] = value;
  }
  return relative;
}

/**
 * The stored action with its default fields back, keys in jsonb order. An action stored without
 * `type` takes the fields it left out from its definition.
 */
export function expandAction(stored: StoredAction, definition?: ActionDefinition): StoredAction {
  const shared: StoredAction = {};
  if (!('type' in stored) && definition !== undefined)
    for (const key of definitionFields) if (key in definition) shared[key] = definition[key];
  const known = { ...shared, ...stored };
  const whole: StoredAction = { ...defaultsOf(known.type), ...known };
  const expanded: StoredAction = {};
  for (const key of Object.keys(whole).sort(jsonbKeyOrder)) expanded[key] = whole[key];
  return expanded;
}

/** jsonb stores an object's keys shortest first, then by their bytes. */
function jsonbKeyOrder(a: string, b: string): number {
  const byLength = Buffer.byteLength(a) - Buffer.byteLength(b);
  if (byLength !== 0) return byLength;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
