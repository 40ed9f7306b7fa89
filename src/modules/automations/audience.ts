// Who a participants-scope run sends to: the participant_filter chooses, the guard_condition (checked
// at fire time) may still skip. Both are CEL conditions over the participant as rules see it, the
// automation's event data and `now` (the run's time). An expression that fails or reads a missing
// field counts as false: the participant is skipped, never sent by accident. Pure.
import { invalidField } from '../../platform/errors.js';
import {
  type CelBindings,
  CelCompileError,
  type CompiledExpression,
  compileExpression,
  toCelInput,
  toCelTimestamp,
} from '../rules/index.js';
import type { FanOutParticipant } from './automations.store.js';

/** Compiles a condition as rules do, or answers a 400 naming `field`. */
export function compileAutomationCondition(source: string, field: string): CompiledExpression {
  try {
    return compileExpression(source, 'condition');
  } catch (error) {
    if (error instanceof CelCompileError) throw invalidField(field, error.message);
    throw error;
  }
}

export interface Audience {
  filter: CompiledExpression | null;
  guard: CompiledExpression | null;
}

export function compileAudience(filter: string | null, guard: string | null): Audience {
  return {
    filter: filter === null ? null : compileExpression(filter, 'condition'),
    guard: guard === null ? null : compileExpression(guard, 'condition'),
  };
}

/** The participants of a chunk the run sends to, in their order. */
export function selectRecipients(
  audience: Audience,
  participants: FanOutParticipant[],
  eventData: Record<string, unknown>,
  now: Date,
): FanOutParticipant[] {
  if (audience.filter === null && audience.guard === null) return participants;
  const shared = { event: toCelInput(eventData), program: toCelInput({}), now: toCelTimestamp(now) };
  return participants.filter((participant) => {
    const bindings: CelBindings = { ...shared, participant: toCelInput(toRuleView(participant)) };
    return isTrue(audience.filter, bindings) && isTrue(audience.guard, bindings);
  });
}

function toRuleView(participant: FanOutParticipant) {
  const counters: Record<string, number> = {};
  for (const [key, value] of Object.entries(participant.counters)) counters[key] = Number(value);
  return {
    id: participant.id,
    tags: participant.tags,
    attributes: participant.attributes,
    counters,
    status: 'ACTIVE',
  };
}

function isTrue(expression: CompiledExpression | null, bindings: CelBindings): boolean {
  if (expression === null) return true;
  const outcome = expression.run(bindings);
  return outcome.kind === 'value' && outcome.value === true;
}
