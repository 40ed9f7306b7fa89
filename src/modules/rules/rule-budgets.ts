// Rule budgets: their configuration as saved, and their live state. A scheduled budget resets
// lazily: once next_reset_at has passed, it counts as zero consumed until the next write stores it.
import { invalidField, notFound } from '../../platform/errors.js';
import { formatAmount, parseSignedAmount } from '../../platform/money.js';
import type { BudgetState } from './evaluate-rules.js';
import type { BudgetInput } from './rules.schemas.js';
import type { BudgetRow } from './rules.store.js';
import { nextBudgetReset, parseCron, parseDuration } from './schedules.js';

function checkSchedule(budget: BudgetInput, index: number): void {
  const field = (name: string) => `budgets[${index}].${name}`;
  const type = budget.schedule_type ?? null;
  const cron = budget.cron_expression ?? null;
  const interval = budget.interval ?? null;
  if (type === 'CRON') {
    if (cron === null)
      throw invalidField(field('cron_expression'), 'is required for a CRON budget', 'required');
    try {
      parseCron(cron);
    } catch (error) {
      throw invalidField(field('cron_expression'), (error as Error).message);
    }
  } else if (cron !== null) {
    throw invalidField(field('cron_expression'), 'is used only with schedule_type CRON');
  }
  if (type === 'INTERVAL') {
    if (interval === null)
      throw invalidField(field('interval'), 'is required for an INTERVAL budget', 'required');
    if (!(Number(parseDuration(interval)) > 0)) {
      throw invalidField(field('interval'), 'must be a positive Go-style duration such as "720h"');
    }
  } else if (interval !== null) {
    throw invalidField(field('interval'), 'is used only with schedule_type INTERVAL');
  }
}

/**
 * The rows for a new budget list, each limit at its asset's scale (`scales`: the organization's
 * assets). A budget kept for the same asset and schedule keeps its consumption, so editing a limit
 * does not hand out a fresh budget; a new schedule starts afresh.
 */
export function toBudgetRows(
  organizationId: string,
  ruleId: string,
  inputs: BudgetInput[],
  existing: BudgetRow[],
  scales: Map<string, number>,
  now: Date,
): BudgetRow[] {
  const seen = new Set<string>();
  return inputs.map((input, index) => {
    if (seen.has(input.asset_id)) throw invalidField(`budgets[${index}].asset_id`, 'appears twice');
    seen.add(input.asset_id);
    const scale = scales.get(input.asset_id);
    if (scale === undefined) throw notFound(`asset of budgets[${index}]`);
    const limit = formatAmount(parseSignedAmount(input.limit, scale, `budgets[${index}].limit`), scale);
    checkSchedule(input, index);
    const schedule = {
      schedule_type: input.schedule_type ?? null,
      cron_expression: input.cron_expression ?? null,
      interval: input.interval ?? null,
    };
    const previous = existing.find(
      (budget) =>
        budget.asset_id === input.asset_id &&
        budget.schedule_type === schedule.schedule_type &&
        budget.cron_expression === schedule.cron_expression &&
        budget.interval === schedule.interval,
    );
    return {
      organization_id: organizationId,
      rule_id: ruleId,
      asset_id: input.asset_id,
      limit,
      ...schedule,
      consumed: previous?.consumed ?? '0',
      next_reset_at: previous === undefined ? nextBudgetReset(schedule, now) : previous.next_reset_at,
    };
  });
}

/** The budget as of `now`: a passed reset counts as done. */
export function effectiveBudget(budget: BudgetRow, now: Date): BudgetRow {
  if (budget.next_reset_at === null || budget.next_reset_at.getTime() > now.getTime()) return budget;
  return { ...budget, consumed: '0', next_reset_at: nextBudgetReset(budget, now) };
}

/**
 * A stored limit or consumption at the asset's scale ("60" at scale 2 is "60.00"); the stored text
 * when the asset is unknown (a budget saved before budgets were checked against assets).
 */
export function budgetAmountAtScale(value: string, scale: number | undefined): string {
  if (scale === undefined) return value;
  return formatAmount(parseSignedAmount(value, scale, 'budget'), scale);
}

export function toBudgetState(budget: BudgetRow): BudgetState {
  return {
    asset_id: budget.asset_id,
    limit: budget.limit,
    consumed: budget.consumed,
    next_reset_at: budget.next_reset_at,
  };
}
