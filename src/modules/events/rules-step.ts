// The event step that gives Accrue its behaviour: evaluate the program's ACTIVE rules against the
// event and the participant's state as it was before the event, apply the actions of the rules that
// matched, take their budgets, store every evaluation, then let tier auto-qualification look at the
// counters the event left. All of it runs in the event's transaction: it commits with COMPLETED, or
// a failure rolls every effect back and the event ends FAILED with the failing action's message.
// The budgets stay locked from loadActiveRules to the commit, so the evaluation saw every earlier
// consumption and a budget is a hard cap across transactions and processes.
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { listActiveGroupIds } from '../groups/index.js';
import { loadStateForRules } from '../participants/index.js';
import {
  consumeRuleBudgets,
  type EvaluationInput,
  evaluateRulesIsolated,
  loadActiveRules,
  recordRuleEvaluations,
} from '../rules/index.js';
import { loadTiersForRules, qualifyTiers, recordActivity } from '../tiers/index.js';
import { ActionFailure, type ActionScope, type AppliedEffects, applyActions } from './apply-actions.js';
import type { EventParties, EventStep, ProcessingEvent } from './event-processor.js';

export function createRulesStep(deps: { db: Database; clock: Clock }): EventStep {
  return async (trx, event, parties) => {
    const now = deps.clock();
    const rules = await loadActiveRules(trx, event.organization_id, event.program_id);
    const scope = actionScope(event, parties, now);
    const evaluations =
      rules.length === 0 ? [] : await evaluateRulesIsolated(rules, await evaluationInput(trx, event, scope));
    const effects: AppliedEffects = { setTierKeys: new Set(), touchedParticipantIds: new Set() };
    try {
      for (const evaluation of evaluations) {
        if (evaluation.status === 'MATCHED')
          await applyActions(trx, scope, evaluation.rule_id, evaluation.actions, effects);
      }
    } catch (error) {
      if (error instanceof ActionFailure) return { outcome: 'fail', errorMessage: error.message };
      throw error;
    }
    await consumeRuleBudgets(trx, event.organization_id, evaluations, event.event_timestamp);
    await recordRuleEvaluations(trx, event.organization_id, event.id, evaluations, now);
    await settleTiers(trx, scope, effects, parties);
    return { outcome: 'continue' };
  };
}

function actionScope(event: ProcessingEvent, parties: EventParties, now: Date): ActionScope {
  return {
    organizationId: event.organization_id,
    programId: event.program_id,
    eventId: event.id,
    eventTimestamp: event.event_timestamp,
    defaultParticipantId: parties.recipient.id,
    now,
  };
}

async function evaluationInput(
  trx: Database,
  event: ProcessingEvent,
  scope: ActionScope,
): Promise<EvaluationInput> {
  const participantId = scope.defaultParticipantId;
  const [state, tiers, groups] = await Promise.all([
    loadStateForRules(trx, event.organization_id, participantId, event.program_id, event.event_timestamp),
    loadTiersForRules(trx, event.organization_id, participantId, event.program_id),
    listActiveGroupIds(trx, event.organization_id, participantId),
  ]);
  const { counterValues: _exact, ...participant } = state.participant;
  const { counterValues: _programExact, ...program } = state.program;
  return {
    eventData: event.event_data,
    eventTimestamp: event.event_timestamp,
    participant: { ...participant, tiers, groups },
    program,
  };
}

/**
 * Upgrades tiers from the counters as the event left them (only upgrades; a tier a SET_TIER changed
 * in this event is left alone) and restarts ACTIVITY_REFRESH timers of the event's parties.
 */
async function settleTiers(
  trx: Database,
  scope: ActionScope,
  effects: AppliedEffects,
  parties: EventParties,
) {
  const participantIds = new Set([
    parties.participant.id,
    parties.recipient.id,
    ...effects.touchedParticipantIds,
  ]);
  const source = { eventId: scope.eventId, eventTimestamp: scope.eventTimestamp, programId: scope.programId };
  for (const participantId of participantIds) {
    const input = {
      organizationId: scope.organizationId,
      programId: scope.programId,
      participantId,
      now: scope.now,
    };
    await recordActivity(trx, input);
    // Qualification runs on the rules' clock, the event's timestamp, so a replay decides the same.
    const at = scope.eventTimestamp;
    const state = await loadStateForRules(trx, scope.organizationId, participantId, scope.programId, at);
    const counters = state.participant.counterValues;
    await qualifyTiers(trx, { ...input, now: at, counters, skipTierKeys: effects.setTierKeys, source });
  }
}
