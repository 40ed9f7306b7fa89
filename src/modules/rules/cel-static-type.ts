// A small static type inference over the parsed tree, enough to refuse a condition that can never be
// a bool (`event.amount * 2`, `"yes"`, `[1]`). Variables are dynamic maps, so most field reads are
// `dyn` and are accepted: a non-bool result at run time is then an evaluation error.
import type { Expr } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';

export type StaticType =
  | 'bool'
  | 'int'
  | 'uint'
  | 'double'
  | 'number'
  | 'string'
  | 'bytes'
  | 'null'
  | 'list'
  | 'map'
  | 'timestamp'
  | 'duration'
  | 'dyn';

const boolFunctions = new Set([
  '_==_',
  '_!=_',
  '_<_',
  '_<=_',
  '_>_',
  '_>=_',
  '_&&_',
  '_||_',
  '!_',
  '@in',
  '@not_strictly_false',
  'startsWith',
  'endsWith',
  'matches',
  'contains',
  'sets.contains',
  'sets.intersects',
  'bool',
]);

const resultTypes: Record<string, StaticType> = {
  size: 'int',
  int: 'int',
  uint: 'uint',
  double: 'double',
  round: 'double',
  string: 'string',
  lowerAscii: 'string',
  upperAscii: 'string',
  trim: 'string',
  replace: 'string',
  substring: 'string',
  charAt: 'string',
  format: 'string',
  join: 'string',
  split: 'list',
  timestamp: 'timestamp',
  duration: 'duration',
  bytes: 'bytes',
  indexOf: 'int',
  lastIndexOf: 'int',
};

const arithmetic = new Set(['_+_', '_-_', '_*_', '_/_', '_%_', '-_']);

export function inferStaticType(expr: Expr): StaticType {
  const node = expr.exprKind;
  switch (node.case) {
    case 'constExpr':
      return constantType(node.value.constantKind.case);
    case 'identExpr':
      return node.value.name === 'now' ? 'timestamp' : 'dyn';
    case 'selectExpr':
      return node.value.testOnly ? 'bool' : 'dyn';
    case 'listExpr':
      return 'list';
    case 'structExpr':
      return 'map';
    case 'comprehensionExpr': {
      const { result, accuVar, accuInit } = node.value;
      if (result === undefined) return 'dyn';
      const isAccumulator = result.exprKind.case === 'identExpr' && result.exprKind.value.name === accuVar;
      return isAccumulator && accuInit ? inferStaticType(accuInit) : inferStaticType(result);
    }
    case 'callExpr':
      return callType(node.value.function, node.value.args, node.value.target);
    default:
      return 'dyn';
  }
}

function callType(name: string, args: Expr[], target: Expr | undefined): StaticType {
  const qualified =
    target?.exprKind.case === 'identExpr' ? `${target.exprKind.value.name}.${name}` : undefined;
  if (boolFunctions.has(name) || (qualified !== undefined && boolFunctions.has(qualified))) return 'bool';
  if (name === '_?_:_') {
    const [, whenTrue, whenFalse] = args.map(inferStaticType);
    return whenTrue === whenFalse && whenTrue !== undefined ? whenTrue : 'dyn';
  }
  if (arithmetic.has(name)) {
    const operands = args.map(inferStaticType);
    if (operands.includes('string')) return 'string';
    if (operands.includes('list')) return 'list';
    if (operands.includes('timestamp') || operands.includes('duration')) return 'dyn';
    return 'number';
  }
  return resultTypes[name] ?? 'dyn';
}

function constantType(kind: string | undefined): StaticType {
  switch (kind) {
    case 'boolValue':
      return 'bool';
    case 'int64Value':
      return 'int';
    case 'uint64Value':
      return 'uint';
    case 'doubleValue':
      return 'double';
    case 'stringValue':
      return 'string';
    case 'bytesValue':
      return 'bytes';
    case 'nullValue':
      return 'null';
    default:
      return 'dyn';
  }
}

export function describeStaticType(type: StaticType): string {
  return type === 'number' ? 'a number' : `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}
