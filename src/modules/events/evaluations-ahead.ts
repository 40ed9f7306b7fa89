// Evaluations sent ahead. A claim's events mostly belong to different participants, and each would
// wait in turn for its own round trip to the evaluation thread. So when an event needs its rules
// evaluated, the next events of the claim whose input is already held (same program, participant
// held, no budgets) go to the thread with it, as one message. Such a result is used at its event's
// turn only if nothing its input was built from can have changed since: no event of the claim wrote
// to the database itself (the claim's epoch), the program's configuration and state are the same
// objects, and no event with the participant as a party got as far as its rules (the turns).
// Otherwise the event is evaluated then, as if nothing had been sent ahead.
import { assert } from '../../platform/assert.js';
import { evaluationMessageJobsMax, eventClaimsMax } from '../../platform/limits.js';
import { type HeldState, heldRuleState } from '../participants/index.js';
import {
  countEvaluationProblems,
  type EvaluationInput,
  evaluateEventsIsolated,
  type RuleEvaluation,
} from '../rules/index.js';
import { tierLevelsForRules } from '../tiers/index.js';
import {
  type AheadEvaluation,
  type ClaimState,
  type Holder,
  heldNow,
  type ProgramContext,
  participantReference,
  programKey,
  programState,
  recipientReference,
} from './claim-state.js';
import type { ClaimedEvent } from './events.store.js';

/** An event at its rules: its resolved program and parties. */
export interface EvaluationTurn {
  claim: ClaimState;
  context: ProgramContext;
  event: ClaimedEvent;
  participant: Holder | undefined;
  recipient: Holder | undefined;
}

/**
 * The event's evaluations: those sent ahead with an earlier event when they still hold, else
 * evaluated now, with (when `lookAhead`) the next events' that can go ahead in the same message.
 */
export async function evaluateAtTurn(turn: EvaluationTurn, lookAhead: boolean): Promise<RuleEvaluation[]> {
  const { claim, context, event } = turn;
  const ahead = claim.ahead.get(event.id);
  claim.ahead.delete(event.id);
  if (ahead !== undefined && stillHolds(ahead, turn)) return countEvaluationProblems(await ahead.evaluations);
  const input = await evaluationInput(claim, context, event, turn.recipient);
  const next = lookAhead ? await eventsAhead(turn) : [];
  const [own, ...sent] = evaluateEventsIsolated(context.rules, [input, ...next.map((item) => item.input)]);
  for (const [index, evaluations] of sent.entries()) {
    const item = next[index];
    if (item === undefined) continue;
    // Unused, a failure is nobody's: the event then evaluates at its turn and meets its own.
    evaluations.catch(() => {});
    claim.ahead.set(item.event.id, { ...item.stamp, evaluations });
  }
  assert(own !== undefined, 'one input in, one evaluation out');
  return countEvaluationProblems(await own);
}

/** Marks that an event with these parties got to its rules: evaluations sent ahead for them lapse. */
export function takeTurn(claim: ClaimState, parties: (Holder | undefined)[]): void {
  for (const holder of new Set(parties)) {
    if (holder === undefined) continue;
    claim.turns.set(holder.row.id, (claim.turns.get(holder.row.id) ?? 0) + 1);
  }
}

function stillHolds(
  ahead: AheadEvaluation,
  { claim, context, event, participant, recipient }: EvaluationTurn,
) {
  return (
    ahead.epoch === claim.epoch &&
    ahead.context === context &&
    ahead.holder === participant &&
    ahead.holder === recipient &&
    ahead.turns === (claim.turns.get(ahead.holder.row.id) ?? 0) &&
    ahead.programState === claim.programStates.get(programKey(event))
  );
}

/**
 * The events after this one in the claim that can be evaluated now: of the same program, naming one
 * participant the claim holds already, not one that an earlier event of this look will change.
 */
async function eventsAhead({ claim, context, event, participant, recipient }: EvaluationTurn) {
  if (context.rules.some((rule) => rule.budgets.length > 0)) return [];
  const stateOfProgram = programState(claim, event);
  const program = await stateOfProgram;
  const taken = new Set([participant, recipient]);
  const found: {
    event: ClaimedEvent;
    input: EvaluationInput;
    stamp: Omit<AheadEvaluation, 'evaluations'>;
  }[] = [];
  const holderOf = heldNow(claim, context);
  const { events } = claim;
  for (let index = events.indexOf(event) + 1; index < events.length; index += 1) {
    if (found.length >= evaluationMessageJobsMax - 1) break;
    const later = events[index] as ClaimedEvent;
    if (later.organization_id !== event.organization_id || later.program_id !== event.program_id) continue;
    const reference = participantReference(later);
    const holder = reference === undefined ? undefined : holderOf(reference);
    if (holder === undefined || taken.has(holder)) continue;
    taken.add(holder);
    if (recipientReference(later) !== undefined || later.claim_count > eventClaimsMax) continue;
    if (claim.ahead.has(later.id)) continue;
    found.push({
      event: later,
      input: inputOf(context, later, holder, program),
      stamp: {
        epoch: claim.epoch,
        context,
        programState: stateOfProgram,
        holder,
        turns: claim.turns.get(holder.row.id) ?? 0,
      },
    });
  }
  return found;
}

/** What the event's rules read: its data, its recipient's state and the program's, at its timestamp. */
export async function evaluationInput(
  claim: ClaimState,
  context: ProgramContext,
  event: ClaimedEvent,
  recipient: Holder | undefined,
): Promise<EvaluationInput> {
  return inputOf(context, event, recipient, await programState(claim, event));
}

function inputOf(
  context: ProgramContext,
  event: ClaimedEvent,
  recipient: Holder | undefined,
  programHeld: HeldState,
): EvaluationInput {
  const at = event.event_timestamp;
  const { counterValues: _programExact, status: _status, ...program } = heldRuleState(programHeld, at);
  return {
    eventData: event.event_data,
    eventTimestamp: at,
    participant: ruleParticipant(context, recipient, at),
    program,
  };
}

/** What the rules of an event with no participant read: nothing (CEL sees an empty map). */
function ruleParticipant(context: ProgramContext, recipient: Holder | undefined, at: Date) {
  if (recipient === undefined) return null;
  const { counterValues: _exact, ...participant } = heldRuleState(recipient.state, at);
  return {
    ...participant,
    tiers: tierLevelsForRules(context.tiers, recipient.tierRows),
    groups: recipient.groups,
  };
}
