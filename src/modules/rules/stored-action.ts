// A resolved action as an evaluation row stores it: without the fields that hold their type's
// default (null, the event's own participant as target, the AVAILABLE bucket, allow_negative false),
// which are most of a typical action. Reading fills them back in and orders the keys as PostgreSQL's
// jsonb orders them, so an evaluation reads exactly as it did when the whole action was stored; rows
// stored whole read unchanged.
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

/** The action without its default fields. */
export function compactAction(action: ResolvedAction): StoredAction {
  const defaults = defaultsOf(action.type);
  const stored: StoredAction = {};
  for (const [key, value] of Object.entries(action)) {
    if (!(key in defaults) || !isDefault(value, defaults[key])) stored[key] = value;
  }
  return stored;
}

/** The stored action with its default fields back, keys in jsonb order. */
export function expandAction(stored: StoredAction): StoredAction {
  const whole: StoredAction = { ...defaultsOf(stored.type), ...stored };
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
