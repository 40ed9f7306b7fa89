// The CEL environment of rules: what an expression can read, which functions it can call, how it is
// compiled (once per source text, cached) and how its outcome is classified. Pure: no I/O.
import { type CelInput, type CelResult, type CelValue, celEnv, isCelError, parse, plan } from '@bufbuild/cel';
import {
  type Expr,
  type Expr_Comprehension,
  ExprSchema,
  type ParsedExpr,
} from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { celCompiledCacheSizeMax, celExpressionBytesMax, celNestingDepthMax } from '../../platform/limits.js';
import { accrueFunctions, costMeter, loopTickFunction } from './cel-functions.js';
import { describeStaticType, inferStaticType } from './cel-static-type.js';

const environment = celEnv({ funcs: accrueFunctions });

/** The variables of every expression. `now` is the event's event_timestamp, never the wall clock. */
const celVariableNames = ['event', 'participant', 'program', 'now'] as const;

/** Type names are identifiers too: `type(x) == int`. */
const typeNames = ['int', 'uint', 'double', 'bool', 'string', 'bytes', 'list', 'map', 'null_type', 'type'];

const knownFunctionNames = new Set<string>([...environment.funcs].map((func) => func.name));

/** Operators and internal helpers the parser and planner produce themselves. */
function isOperator(name: string): boolean {
  return name.startsWith('_') || name.startsWith('@') || name === '!_' || name === '-_';
}

export type ExpressionKind = 'condition' | 'value';

/** A refused expression, with the position (1-based line and column) where one is known. */
export class CelCompileError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(line === undefined ? message : `line ${line}, column ${column}: ${message}`);
    this.name = 'CelCompileError';
  }
}

export type CelOutcome =
  | { kind: 'value'; value: CelValue }
  | { kind: 'missing_field'; message: string }
  | { kind: 'error'; message: string }
  | { kind: 'timeout'; message: string };

export interface CompiledExpression {
  source: string;
  run(bindings: CelBindings): CelOutcome;
}

/** What one evaluation can read; built once per event with `toCelBindings`. */
export interface CelBindings {
  event: CelInput;
  participant: CelInput;
  program: CelInput;
  now: CelInput;
}

const compiled = new Map<string, CompiledExpression>();

/** Compiles (or takes from the cache) an expression; throws CelCompileError when it is refused. */
export function compileExpression(source: string, kind: ExpressionKind): CompiledExpression {
  const key = `${kind}\u0000${source}`;
  const cached = compiled.get(key);
  if (cached !== undefined) return cached;
  const expression = buildExpression(source, kind);
  if (compiled.size >= celCompiledCacheSizeMax) {
    const oldest = compiled.keys().next();
    if (oldest.done !== true) compiled.delete(oldest.value);
  }
  compiled.set(key, expression);
  return expression;
}

function buildExpression(source: string, kind: ExpressionKind): CompiledExpression {
  const bytes = Buffer.byteLength(source, 'utf8');
  if (bytes > celExpressionBytesMax) {
    throw new CelCompileError(`expression is ${bytes} bytes; the limit is ${celExpressionBytesMax}`);
  }
  if (source.trim() === '') throw new CelCompileError('expression is empty');
  const parsed = parseSource(source);
  const root = parsed.expr;
  if (root === undefined) throw new CelCompileError('expression is empty');
  const scope = new Set<string>([...celVariableNames, ...typeNames]);
  rewrite(root, 0, scope, (id) => positionOf(parsed, source, id));
  if (kind === 'condition') {
    const type = inferStaticType(root);
    if (type !== 'bool' && type !== 'dyn') {
      throw new CelCompileError(
        `condition must evaluate to bool, but it evaluates to ${describeStaticType(type)}`,
      );
    }
  }
  const program = plan(environment, parsed);
  return {
    source,
    run(bindings) {
      costMeter.reset();
      const result = program(bindings as unknown as Record<string, CelInput>);
      return classify(result);
    },
  };
}

function parseSource(source: string): ParsedExpr & { expr: Expr } {
  try {
    return parse(source);
  } catch (error) {
    if (error instanceof RangeError) throw new CelCompileError('expression is nested too deeply');
    const message = error instanceof Error ? error.message : String(error);
    const located = /^<input>:(\d+):(\d+): (.*)$/s.exec(message);
    if (located)
      throw new CelCompileError(`syntax error: ${located[3]}`, Number(located[1]), Number(located[2]));
    throw new CelCompileError(`syntax error: ${message}`);
  }
}

function positionOf(parsed: ParsedExpr, source: string, id: bigint): { line: number; column: number } {
  const offset = parsed.sourceInfo?.positions[String(id)] ?? 0;
  const before = source.slice(0, offset).split('\n');
  return { line: before.length, column: (before[before.length - 1]?.length ?? 0) + 1 };
}

type Locate = (id: bigint) => { line: number; column: number };

/**
 * Checks and rewrites the tree in place: bounds the nesting, refuses unknown variables and functions,
 * turns `now()` into the variable `now`, and puts a cost tick into every macro loop.
 */
function rewrite(expr: Expr, depth: number, scope: Set<string>, locate: Locate): void {
  if (depth > celNestingDepthMax) {
    const { line, column } = locate(expr.id);
    throw new CelCompileError(
      `expression is nested more than ${celNestingDepthMax} levels deep`,
      line,
      column,
    );
  }
  const node = expr.exprKind;
  switch (node.case) {
    case 'identExpr':
      if (!scope.has(node.value.name)) refuse(`unknown variable '${node.value.name}'`, expr, locate);
      return;
    case 'selectExpr':
      if (node.value.operand) rewrite(node.value.operand, depth + 1, scope, locate);
      return;
    case 'listExpr':
      for (const element of node.value.elements) rewrite(element, depth + 1, scope, locate);
      return;
    case 'structExpr':
      for (const entry of node.value.entries) {
        if (entry.keyKind.case === 'mapKey') rewrite(entry.keyKind.value, depth + 1, scope, locate);
        if (entry.value) rewrite(entry.value, depth + 1, scope, locate);
      }
      return;
    case 'comprehensionExpr':
      rewriteComprehension(node.value, depth, scope, locate);
      return;
    case 'callExpr':
      rewriteCall(expr, depth, scope, locate);
      return;
    default:
      return;
  }
}

function rewriteCall(expr: Expr, depth: number, scope: Set<string>, locate: Locate): void {
  if (expr.exprKind.case !== 'callExpr') return;
  const call = expr.exprKind.value;
  const target = call.target;
  if (call.function === 'now' && target === undefined && call.args.length === 0) {
    expr.exprKind = { case: 'identExpr', value: { $typeName: 'cel.expr.Expr.Ident', name: 'now' } };
    return;
  }
  const namespaced =
    target?.exprKind.case === 'identExpr' ? `${target.exprKind.value.name}.${call.function}` : undefined;
  const isNamespacedCall = namespaced !== undefined && knownFunctionNames.has(namespaced);
  if (!isOperator(call.function) && !knownFunctionNames.has(call.function) && !isNamespacedCall) {
    refuse(`unknown function '${namespaced ?? call.function}'`, expr, locate);
  }
  if (target && !isNamespacedCall) rewrite(target, depth + 1, scope, locate);
  for (const arg of call.args) rewrite(arg, depth + 1, scope, locate);
}

function rewriteComprehension(
  loop: Expr_Comprehension,
  depth: number,
  scope: Set<string>,
  locate: Locate,
): void {
  const inner = new Set([...scope, loop.iterVar, loop.accuVar]);
  if (loop.iterVar2 !== '') inner.add(loop.iterVar2);
  if (loop.iterRange) rewrite(loop.iterRange, depth + 1, scope, locate);
  if (loop.accuInit) rewrite(loop.accuInit, depth + 1, scope, locate);
  if (loop.loopCondition) rewrite(loop.loopCondition, depth + 1, inner, locate);
  if (loop.loopStep) rewrite(loop.loopStep, depth + 1, inner, locate);
  if (loop.result) rewrite(loop.result, depth + 1, inner, locate);
  // Every iteration first charges the meter; once the budget is gone the loop stops.
  const tick = create(ExprSchema, {
    exprKind: { case: 'callExpr', value: { function: loopTickFunction, args: [] } },
  });
  const condition = loop.loopCondition ?? create(ExprSchema, { exprKind: { case: 'constExpr', value: {} } });
  loop.loopCondition = create(ExprSchema, {
    id: condition.id,
    exprKind: { case: 'callExpr', value: { function: '_&&_', args: [tick, condition] } },
  });
}

function refuse(message: string, expr: Expr, locate: Locate): never {
  const { line, column } = locate(expr.id);
  throw new CelCompileError(message, line, column);
}

/** Reading a field, key or list element that is not there: the condition is false, not an error. */
const missingFieldPattern = /^(field|key) not found|^no such (key|field)|^index -?\d+ out of bounds/;

function classify(result: CelResult): CelOutcome {
  if (costMeter.exceeded) return { kind: 'timeout', message: 'evaluation cost limit exceeded' };
  if (isCelError(result)) {
    const message = result.message;
    if (missingFieldPattern.test(message)) return { kind: 'missing_field', message };
    return { kind: 'error', message };
  }
  return { kind: 'value', value: result };
}

/** JSON (event data, state) as CEL input: objects become maps, numbers doubles. */
export function toCelInput(value: unknown): CelInput {
  if (value === null || typeof value !== 'object') return value as CelInput;
  if (Array.isArray(value)) return value.map(toCelInput);
  const map = new Map<string, CelInput>();
  for (const [key, item] of Object.entries(value)) map.set(key, toCelInput(item));
  return map;
}

export function toCelTimestamp(time: Date): CelInput {
  return timestampFromDate(time) as unknown as CelInput;
}
