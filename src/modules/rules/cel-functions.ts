// The functions of rule expressions (standard CEL and Accrue's additions), each charged to the cost
// meter that bounds an evaluation. Pure: no I/O. Evaluation is synchronous, so one meter per thread
// is enough: it is reset before each evaluation and read right after it.
import {
  type CelFunc,
  type CelList,
  type CelMap,
  CelScalar,
  type CelType,
  type CelValue,
  celEnv,
  celFunc,
  celListConcat,
  celType,
  isCelList,
  isCelMap,
  listType,
  mapType,
} from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import {
  celEvaluationCostMax,
  celEvaluationTimeMaxMs,
  celEventEvaluationTimeMaxMs,
} from '../../platform/limits.js';

const { BOOL, DOUBLE, DYN, INT, STRING } = CelScalar;
const LIST = listType(DYN);
const MAP = mapType(DYN, DYN);

/**
 * Units between two readings of the clock. A unit can stand for microseconds of uncharged work (a list
 * literal built anew in each loop iteration), so the clock is read often enough that a rule overruns
 * its ceiling by little; an ordinary rule spends fewer units than this and never reads it.
 */
const clockCheckUnits = 128;

/**
 * Counts work done by one evaluation: loop iterations and the size of what concatenation builds,
 * with a wall-clock ceiling per evaluation and, inside `evaluateRules`, one for all the rules of the
 * event: evaluation is synchronous, so the event's rules together hold the event loop at most that long.
 */
class CostMeter {
  private spent = 0;
  private nextClockCheck = clockCheckUnits;
  private deadlineMs = 0;
  private eventDeadlineMs = Number.POSITIVE_INFINITY;
  exceeded = false;

  /** Starts the wall-clock ceiling shared by the expressions of one event, until `endEvent`. */
  beginEvent(): void {
    this.eventDeadlineMs = performance.now() + celEventEvaluationTimeMaxMs;
  }

  endEvent(): void {
    this.eventDeadlineMs = Number.POSITIVE_INFINITY;
  }

  reset(): void {
    this.spent = 0;
    this.nextClockCheck = clockCheckUnits;
    this.exceeded = false;
    this.deadlineMs = Math.min(performance.now() + celEvaluationTimeMaxMs, this.eventDeadlineMs);
  }

  /** Charges `units`; false once the budget (cost or wall time) is gone. */
  charge(units: number): boolean {
    if (this.exceeded) return false;
    this.spent += units;
    if (this.spent > celEvaluationCostMax) this.exceeded = true;
    else if (this.spent >= this.nextClockCheck) {
      this.nextClockCheck = this.spent + clockCheckUnits;
      this.exceeded = this.pastDeadline();
    }
    return !this.exceeded;
  }

  /** Reads the clock: for work that is measured before it is charged. */
  pastDeadline(): boolean {
    return performance.now() > this.deadlineMs;
  }
}

export const costMeter = new CostMeter();

/** The name of the internal tick the compiler inserts into every macro loop condition. */
export const loopTickFunction = '@accrue_tick';

const costExceeded = 'evaluation cost limit exceeded';

function chargeOrThrow(units: number): void {
  if (!costMeter.charge(units)) throw new Error(costExceeded);
}

function listSize(list: CelList): number {
  return list.size;
}

/** `round(x, digits)`: half away from zero, on the decimal representation, so 1.005 rounds to 1.01. */
export function roundHalfAwayFromZero(value: number, digits: number): number {
  if (!Number.isFinite(value)) return value;
  if (!Number.isInteger(digits) || digits < 0 || digits > 15) throw new Error('round: digits must be 0-15');
  const magnitude = Math.abs(value);
  const shifted = Math.round(Number(`${magnitude}e${digits}`));
  return Math.sign(value) * Number(`${shifted}e-${digits}`);
}

function listItems(value: CelValue): CelValue[] {
  if (!isCelList(value)) throw new Error('expected a list');
  return [...value];
}

function setKey(value: CelValue): unknown {
  // Numbers compare by value across int and double, as CEL equality does.
  return typeof value === 'bigint' ? Number(value) : value;
}

function setsContains(list: CelList, items: CelList): boolean {
  chargeOrThrow(listSize(list) + listSize(items));
  const present = new Set(listItems(list).map(setKey));
  return listItems(items).every((item) => present.has(setKey(item)));
}

function setsIntersects(list: CelList, items: CelList): boolean {
  chargeOrThrow(listSize(list) + listSize(items));
  const present = new Set(listItems(list).map(setKey));
  return listItems(items).some((item) => present.has(setKey(item)));
}

function getOrDefault(map: CelMap, key: CelValue, fallback: CelValue): CelValue {
  if (!isCelMap(map)) throw new Error('get: expected a map');
  if (typeof key !== 'string' && typeof key !== 'bigint' && typeof key !== 'boolean') return fallback;
  return map.get(key) ?? fallback;
}

/** Mixed int/double arithmetic: JSON numbers arrive as doubles, so `event.amount * 10` must work. */
function mixedArithmetic(): CelFunc[] {
  const operators: [string, (l: number, r: number) => number][] = [
    ['_+_', (l, r) => l + r],
    ['_-_', (l, r) => l - r],
    ['_*_', (l, r) => l * r],
    ['_/_', (l, r) => l / r],
  ];
  return operators.flatMap(([name, apply]) => [
    celFunc(name, [DOUBLE, INT], DOUBLE, (l, r) => apply(l, Number(r))),
    celFunc(name, [INT, DOUBLE], DOUBLE, (l, r) => apply(Number(l), r)),
  ]);
}

/** Concatenation replaced by metered versions: their result size is what hostile expressions grow. */
function meteredConcatenation(): CelFunc[] {
  return [
    celFunc('_+_', [STRING, STRING], STRING, (l, r) => {
      chargeOrThrow(l.length + r.length);
      return l + r;
    }),
    celFunc('_+_', [LIST, LIST], LIST, (l, r) => {
      chargeOrThrow(listSize(l) + listSize(r));
      return celListConcat(l, r);
    }),
  ];
}

type CostOf = (target: CelValue | undefined, args: CelValue[]) => number;

/**
 * A function that first charges the meter; over budget it fails, and the meter reports a timeout.
 * Overloads are tried in turn until one accepts the operands, so only the one that runs is charged.
 */
function metered(func: CelFunc, costOf: CostOf): CelFunc {
  const wrapped = Object.create(func) as CelFunc;
  wrapped.call = (id, target, args) => {
    if (!accepts(func, target, args) || !costMeter.charge(costOf(target, args))) return undefined;
    return func.call(id, target, args);
  };
  return wrapped;
}

function accepts(func: CelFunc, target: CelValue | undefined, args: CelValue[]): boolean {
  if (args.length !== func.arguments.length) return false;
  if (func.target === undefined)
    return target === undefined && args.every((arg, i) => fits(arg, func.arguments[i]));
  return (
    target !== undefined && fits(target, func.target) && args.every((arg, i) => fits(arg, func.arguments[i]))
  );
}

function fits(value: CelValue, type: CelType | undefined): boolean {
  if (type === undefined || type === DYN) return true;
  const actual = celType(value);
  return actual.kind === type.kind && actual.name === type.name;
}

/**
 * What a function costs unless it has a model of its own: one unit, plus the length of every string
 * and bytes operand (size() counts code points, startsWith and contains scan, comparisons and
 * conversions read the text). A list or map operand counts one: functions that walk one have their
 * own model below; the others (size, index, map membership) do not walk it.
 */
function scanCost(target: CelValue | undefined, args: CelValue[]): number {
  return args.reduce((sum: number, arg) => sum + textSizeOf(arg), 1 + textSizeOf(target));
}

function textSizeOf(value: CelValue | undefined): number {
  if (value === undefined) return 0;
  return typeof value === 'string' || value instanceof Uint8Array ? value.length : 1;
}

/**
 * String extension methods, charged for the size of their inputs, lists by their content (`join`
 * and `format` build a string of everything in them); `replace` and `join` are charged for the
 * largest result they could build, since chained calls grow a string geometrically.
 */
function stringExtensionCost(name: string): CostOf {
  if (name === 'replace') return (target, args) => contentSizeOf(target) * (1 + contentSizeOf(args[1]));
  if (name === 'join')
    return (target, args) => contentSizeOf(target) + contentSizeOf(args[0]) * sizeOf(target);
  return (target, args) => args.reduce((sum: number, arg) => sum + contentSizeOf(arg), contentSizeOf(target));
}

/**
 * Equality and list membership compare whole structures. A list can repeat one sub-list many times
 * at no cost (`[l, l, l]`), so a comparison is charged for the content it may have to walk: the
 * smaller operand's, for each element a membership test compares.
 */
const comparisonCost: CostOf = (_target, [left, right]) =>
  1 + Math.min(contentSizeOf(left), contentSizeOf(right));

const membershipCost: CostOf = (_target, [left, right]) => {
  if (!isCelList(right)) return 1 + textSizeOf(left);
  const itemSize = contentSizeOf(left);
  let total = 1;
  for (const element of right) {
    total += 1 + contentSizeOf(element, itemSize);
    if (total > celEvaluationCostMax) break;
  }
  return total;
};

/** `matches` runs RE2 (linear in the text) but a long pattern multiplies the work: charge both. */
const matchesCost: CostOf = (target, args) =>
  1 + sizeOf(args[0]) + sizeOf(target) * Math.ceil(sizeOf(args[0]) / 32);

const stringExtensionNames = new Set(strings.map((func) => func.name));

function costModelOf(name: string): CostOf {
  if (name === '_==_' || name === '_!=_') return comparisonCost;
  if (name === '@in') return membershipCost;
  if (name === 'matches') return matchesCost;
  if (stringExtensionNames.has(name)) return stringExtensionCost(name);
  return scanCost;
}

/**
 * Every function of the environment, the standard library's included, charged before it runs by
 * its cost model. `charging` functions measure what they build themselves and are kept as they are.
 */
function meterAll(funcs: CelFunc[], charging: CelFunc[]): CelFunc[] {
  const merged = [...celEnv({ funcs }).funcs];
  return [...merged.map((func) => metered(func, costModelOf(func.name))), ...charging];
}

/**
 * What walking a value costs: string and bytes lengths, one per list element and map entry, through
 * nested lists and maps, each occurrence of a shared sub-list counted again. Counting stops once it
 * passes `cap` (by default the whole budget), so measuring is bounded by the budget too.
 */
function contentSizeOf(value: CelValue | undefined, cap = celEvaluationCostMax): number {
  let total = 0;
  let visits = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    visits += 1;
    // Walking is slower per unit than a loop tick: past the deadline, the walk costs everything.
    if (visits % clockCheckUnits === 0 && costMeter.pastDeadline()) return Number.POSITIVE_INFINITY;
    const item = pending.pop();
    if (item === undefined) continue;
    if (typeof item === 'string' || item instanceof Uint8Array) total += item.length;
    else if (isCelList(item)) {
      total += 1 + item.size;
      if (total <= cap)
        for (const element of item)
          if (typeof element === 'object' || typeof element === 'string') pending.push(element);
    } else if (isCelMap(item)) {
      total += 1 + item.size;
      if (total <= cap) for (const [key, entry] of item) pending.push(key, entry);
    } else total += 1;
    if (total > cap) return total;
  }
  return total;
}

function sizeOf(value: CelValue | undefined): number {
  if (typeof value === 'string') return value.length;
  if (isCelList(value)) return value.size;
  return 1;
}

/**
 * `timestamp("2026-09-01")`: a bare date means midnight UTC, as in Scrip's own examples; standard CEL
 * accepts only full RFC 3339 timestamps. Everything else goes to the standard conversion unchanged.
 */
function dateFriendlyTimestamp(): CelFunc[] {
  return [...celEnv().funcs]
    .filter((func) => func.name === 'timestamp' && func.arguments[0] === STRING)
    .map((func) => {
      const wrapped = Object.create(func) as CelFunc;
      wrapped.call = (id, target, args) => {
        const [text] = args;
        const isDate = typeof text === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(text);
        return func.call(id, target, isDate ? [`${text}T00:00:00Z`] : args);
      };
      return wrapped;
    });
}

/**
 * The functions of rule expressions: the CEL standard library with Accrue's additions, every one of
 * them charged against the evaluation's budget.
 */
export const accrueFunctions: CelFunc[] = meterAll(
  [
    ...strings,
    ...dateFriendlyTimestamp(),
    ...mixedArithmetic(),
    celFunc('get', [MAP, DYN, DYN], DYN, getOrDefault),
    celFunc('round', [DOUBLE, INT], DOUBLE, (x, digits) => roundHalfAwayFromZero(x, Number(digits))),
    celFunc('round', [INT, INT], DOUBLE, (x, digits) => roundHalfAwayFromZero(Number(x), Number(digits))),
  ],
  [
    ...meteredConcatenation(),
    celFunc('sets.contains', [LIST, LIST], BOOL, setsContains),
    celFunc('sets.intersects', [LIST, LIST], BOOL, setsIntersects),
    celFunc(loopTickFunction, [], BOOL, () => costMeter.charge(1)),
  ],
);
