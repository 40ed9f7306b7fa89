// The simulate endpoint's view of one evaluation (spec 2.10): what each action would do, projected
// on the hypothetical participant state. Pure: nothing here reads or writes storage.
import { addDecimals, numberToDecimalString } from '../../platform/money.js';
import type { ParticipantState, RuleEvaluation } from './evaluate-rules.js';
import type { ResolvedAction } from './rule-actions.js';
import type { Action, SimulateResult } from './rules.schemas.js';

type Evaluation = SimulateResult['evaluation'];

const ledgerVerbs: Record<string, string> = {
  CREDIT: 'Credit',
  DEBIT: 'Debit',
  HOLD: 'Hold',
  RELEASE: 'Release',
  FORFEIT: 'Forfeit',
};

function targetName(action: ResolvedAction): string {
  if (!('target' in action)) return 'every participant of the program';
  const target = action.target;
  if (target.kind === 'program') return 'the program';
  if (target.kind === 'participant_id') return `participant ${target.participant_id}`;
  if (target.kind === 'external_id') return `participant with external id ${target.external_id}`;
  if (target.kind === 'group') return `group ${target.group_id}`;
  return 'participant';
}

function ownParticipant(action: ResolvedAction): boolean {
  return 'target' in action && action.target.kind === 'event_participant';
}

function describeResult(
  action: ResolvedAction,
  state: ParticipantState,
  symbolOf: (assetId: string) => string,
) {
  const to = targetName(action);
  const own = ownParticipant(action);
  switch (action.type) {
    case 'CREDIT':
    case 'DEBIT':
    case 'HOLD':
    case 'RELEASE':
    case 'FORFEIT': {
      const symbol = symbolOf(action.asset_id);
      const amount = action.amount ?? 'the held amount';
      const preposition = action.type === 'CREDIT' ? 'to' : 'from';
      return {
        amount: action.amount,
        asset_symbol: symbol,
        description: `${ledgerVerbs[action.type]} ${amount} ${symbol} ${preposition} ${to}`,
      };
    }
    case 'VOID_HOLD':
      return { description: 'VOID_HOLD cannot be simulated yet' };
    case 'COUNTER': {
      const description = `Add ${action.value} to counter ${action.key} of ${to}`;
      if (!own) return { description };
      const current = numberToDecimalString(state.counters[action.key] ?? 0);
      return {
        current_value: current,
        projected_value: addDecimals(current, action.value),
        value: action.value,
        description,
      };
    }
    case 'TAG':
    case 'UNTAG':
      return describeTagging(action, state, to, own);
    case 'SET_ATTRIBUTE': {
      const description = `Set attribute ${action.key} of ${to} to "${action.value}"`;
      if (!own) return { description };
      const current = state.attributes[action.key] ?? null;
      return { current_value: current, would_change: current !== action.value, description };
    }
    case 'SET_TIER':
      return { description: `Set tier ${action.tier} of ${to} to level ${action.level}` };
    case 'SCHEDULE_EVENT':
      return { description: `Schedule event ${action.event_name} for ${action.process_at.toISOString()}` };
    default:
      return { description: `Broadcast event ${action.event_name} to ${to}` };
  }
}

function describeTagging(
  action: Extract<ResolvedAction, { type: 'TAG' | 'UNTAG' }>,
  state: ParticipantState,
  to: string,
  own: boolean,
) {
  const adding = action.type === 'TAG';
  const description = `${adding ? 'Add' : 'Remove'} tag ${action.tag} ${adding ? 'to' : 'from'} ${to}`;
  if (!own) return { description };
  const present = state.tags.includes(action.tag);
  return adding
    ? { current_tags: state.tags, would_add: !present, description }
    : { current_tags: state.tags, would_remove: present, description };
}

export function toSimulatedEvaluation(
  evaluation: RuleEvaluation,
  definitions: Action[],
  state: ParticipantState,
  symbolOf: (assetId: string) => string,
): Evaluation {
  if (evaluation.status !== 'MATCHED') {
    const failed: Evaluation = {
      matched: false,
      status: 'condition_failed',
      reason: evaluation.reason ?? 'CONDITION_FALSE',
    };
    if (evaluation.message !== null) failed.message = evaluation.message;
    return failed;
  }
  return {
    matched: true,
    status: 'evaluated',
    results: evaluation.actions.map((action, index) => ({
      action: (definitions[index] ?? {}) as Record<string, unknown>,
      result: describeResult(action, state, symbolOf),
    })),
  };
}
