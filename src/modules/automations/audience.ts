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

type CelInput = CelBindings['participant'];

/** Compiles a condition as rules do, or answers a 400 naming `field`. */
export function compileAutomationCondition(source: string, field: string): CompiledExpression {
  try {
    return compileExpression(source, 'condition');
  } catch (error) {
    if (error instanceof CelCompileError) throw invalidField(field, error.message);
    throw error;
  }
}

/** The parts of a participant's state a filter or guard reads: only those are loaded. */
export interface ParticipantReads {
  tags: boolean;
  attributes: boolean;
  counters: boolean;
}

export interface Audience {
  filter: CompiledExpression | null;
  guard: CompiledExpression | null;
  reads: ParticipantReads;
}

export function compileAudience(filter: string | null, guard: string | null): Audience {
  return {
    filter: filter === null ? null : compileExpression(filter, 'condition'),
    guard: guard === null ? null : compileExpression(guard, 'condition'),
    reads: participantReads([filter ?? '', guard ?? ''].join('\n')),
  };
}

const stateFields = ['tags', 'attributes', 'counters'] as const;

/**
 * What of the participant's state `source` can read, from its text: `participant.tags` and the like
 * read that field; any other use of the name `participant` (the whole map, an index, a string that
 * contains the word) counts as reading everything. So a field left out is one no evaluation reads.
 */
function participantReads(source: string): ParticipantReads {
  const other = /\bparticipant\b(?!\s*\.\s*(?:id|status|tags|attributes|counters)\b)/.test(source);
  const reads = (field: string) => other || new RegExp(`\\bparticipant\\s*\\.\\s*${field}\\b`).test(source);
  const [tags, attributes, counters] = stateFields.map(reads) as [boolean, boolean, boolean];
  return { tags, attributes, counters };
}

/** The participants of a chunk the run sends to, in their order. */
export function selectRecipients(
  audience: Audience,
  participants: FanOutParticipant[],
  eventData: Record<string, unknown>,
  now: Date,
): FanOutParticipant[] {
  if (audience.filter === null && audience.guard === null) return participants;
  const bindings: CelBindings = {
    event: toCelInput(eventData),
    program: toCelInput({}),
    now: toCelTimestamp(now),
    participant: null,
  };
  return participants.filter((participant) => {
    bindings.participant = toRuleView(participant);
    return isTrue(audience.filter, bindings) && isTrue(audience.guard, bindings);
  });
}

/** The participant as rules see it (CEL input); state the audience does not read is left empty. */
function toRuleView(participant: FanOutParticipant): CelInput {
  const counters = new Map<string, CelInput>();
  for (const key in participant.counters) counters.set(key, Number(participant.counters[key]));
  return new Map<string, CelInput>([
    ['id', participant.id],
    ['tags', participant.tags],
    ['attributes', toCelInput(participant.attributes)],
    ['counters', counters],
    ['status', 'ACTIVE'],
  ]);
}

function isTrue(expression: CompiledExpression | null, bindings: CelBindings): boolean {
  if (expression === null) return true;
  const outcome = expression.run(bindings);
  return outcome.kind === 'value' && outcome.value === true;
}
