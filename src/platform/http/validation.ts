// Request validation with Ajv. Query strings and path params are coerced from strings (limit=50);
// bodies are not, so a number where a string belongs is an error rather than silently converted.
import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import type { FieldProblem } from '../errors.js';
import { bodyDepthMax, receivedLengthMax } from '../limits.js';
import { parseTimestamp, timestampDescription } from '../timestamp.js';

function createAjv(coerceTypes: boolean | 'array'): Ajv {
  const ajv = new Ajv({
    coerceTypes,
    useDefaults: true,
    removeAdditional: false,
    allErrors: true,
    verbose: true,
    strict: false,
  });
  addFormats.default(ajv);
  for (const [name, format] of Object.entries(customFormats)) ajv.addFormat(name, format);
  return ajv;
}

/**
 * Names that JavaScript objects treat specially: as a key of a body, a counter or an attribute they
 * would be stored but not read back (obj.__proto__ = x sets the prototype). They are refused with a
 * 400 naming the key wherever a name enters, rather than supported in some places only.
 */
export const reservedKeyNames: ReadonlySet<string> = new Set(['__proto__', 'constructor']);
const reservedKeyMessage = 'is a reserved name (__proto__ and constructor cannot be keys); choose another';

/**
 * Every timestamp the API takes is read by the one parser, so that what passes validation is exactly
 * what the services can store (no leap seconds, years 0001-9999); names must not be reserved ones.
 */
const customFormats = {
  'date-time': { type: 'string', validate: (text: string) => parseTimestamp(text) !== undefined },
  'key-name': { type: 'string', validate: (text: string) => !reservedKeyNames.has(text) },
} as const;

/** Fastify's response serializer compiles the same schemas with an Ajv of its own: same formats. */
export const serializerOptions = { ajv: { formats: customFormats } };

/** For each custom format: what a 400 says was expected, and its message. */
const formatProblems: Record<string, { expected: string; message: string }> = {
  'date-time': { expected: timestampDescription, message: `must be an ${timestampDescription}` },
  'key-name': { expected: 'a name other than __proto__ or constructor', message: reservedKeyMessage },
};

const bodyAjv = createAjv(false);
const paramsAjv = createAjv('array');

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const validate = (httpPart === 'body' ? bodyAjv : paramsAjv).compile(schema as object);
  const findNonDecimal = httpPart === 'body' ? () => undefined : nonDecimalFinder(schema as object);
  const perItem = propertiesCheckedPerItem(schema as object);
  const validateBody = (data: unknown) => {
    const problem = findUnstorableValue(data, perItem) ?? findNonDecimal(data);
    validateBody.errors = problem === undefined ? null : [problem];
    if (problem !== undefined) return false;
    const valid = validate(data);
    validateBody.errors = validate.errors ?? null;
    return valid;
  };
  validateBody.errors = null as ErrorObject[] | null;
  return validateBody;
};

const decimalPatterns = { integer: /^-?\d+$/, number: /^-?\d+(?:\.\d+)?$/ };

/**
 * Ajv coerces query and path text with Number(), which also reads "0x10", "1e1", " 10" and "".
 * Numbers in a URL are plain decimals only, so the text of each numeric parameter is checked first.
 */
function nonDecimalFinder(schema: object): (data: unknown) => ErrorObject | undefined {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  const numeric = Object.entries(properties).flatMap(([name, property]) =>
    property.type === 'integer' || property.type === 'number' ? [[name, property.type] as const] : [],
  );
  return (data) => {
    if (typeof data !== 'object' || data === null) return undefined;
    for (const [name, type] of numeric) {
      const value: unknown = (data as Record<string, unknown>)[name];
      for (const text of Array.isArray(value) ? value : [value]) {
        if (typeof text === 'string' && !decimalPatterns[type].test(text)) {
          const message = `must be a decimal ${type === 'integer' ? 'integer' : 'number'}`;
          return {
            instancePath: `/${name}`,
            schemaPath: '#',
            keyword: 'type',
            params: { type },
            message,
            data: text,
          };
        }
      }
    }
    return undefined;
  };
}

/**
 * Option for a body property whose items a route checks one by one with compileBodyPartValidator (the
 * events of a batch): the request-wide walk then only bounds their depth, so that one bad item fails
 * alone.
 */
export const checkedPerItem = { 'x-checked-per-item': true } as const;

function propertiesCheckedPerItem(schema: object): ReadonlySet<string> {
  const properties = (schema as { properties?: Record<string, Record<string, unknown>> }).properties ?? {};
  return new Set(Object.keys(properties).filter((name) => properties[name]?.['x-checked-per-item'] === true));
}

/**
 * JSON and query strings can carry what PostgreSQL cannot store (NUL characters, unpaired surrogates),
 * keys that JavaScript objects reserve, and nesting deep enough to exhaust a recursive walk; all are
 * refused before anything else looks at the body. Below the top-level properties in `perItem`, only
 * the depth is checked here.
 */
function findUnstorableValue(
  data: unknown,
  perItem: ReadonlySet<string> = new Set(),
): ErrorObject | undefined {
  const pending: Visit[] = [{ value: data, parent: undefined, key: '', depth: 0, content: true }];
  for (let visit = pending.pop(); visit !== undefined; visit = pending.pop()) {
    const { value, depth, content } = visit;
    if (depth > bodyDepthMax)
      return unstorable(pathOf(visit), `must not nest deeper than ${bodyDepthMax} levels`);
    if (typeof value === 'string' && content) {
      if (!value.isWellFormed() || value.includes('\u0000')) {
        return unstorable(pathOf(visit), 'must not contain NUL characters or unpaired surrogates');
      }
    } else if (typeof value === 'object' && value !== null) {
      for (const key of Object.keys(value)) {
        const problem = content ? findUnstorableKey(visit, key) : undefined;
        if (problem !== undefined) return problem;
        const childContent = content && !(depth === 0 && perItem.has(key));
        const child: unknown = (value as Record<string, unknown>)[key];
        pending.push({ value: child, parent: visit, key, depth: depth + 1, content: childContent });
      }
    }
  }
  return undefined;
}

/** A value met by findUnstorableValue; its path is written only for an error. */
interface Visit {
  value: unknown;
  parent: Visit | undefined;
  key: string;
  depth: number;
  content: boolean;
}

function pathOf(visit: Visit | undefined): string {
  return visit?.parent === undefined ? '' : `${pathOf(visit.parent)}/${visit.key}`;
}

function findUnstorableKey(visit: Visit, key: string): ErrorObject | undefined {
  if (!key.isWellFormed() || key.includes('\u0000'))
    return unstorable(pathOf(visit), 'has a key that cannot be stored');
  if (reservedKeyNames.has(key)) return unstorable(`${pathOf(visit)}/${key}`, reservedKeyMessage);
  return undefined;
}

function unstorable(instancePath: string, message: string): ErrorObject {
  return { instancePath, schemaPath: '#', keyword: 'unstorable', params: {}, message };
}

/**
 * A validator for one part of a body that the route schema accepts loosely (the items of a batch),
 * so that each part gets its own errors instead of the whole request failing. Answers the problems,
 * empty when the value is valid.
 */
export function compileBodyPartValidator(schema: object): (value: unknown) => FieldProblem[] {
  const validate = bodyAjv.compile(schema);
  return (value) => {
    const problem = findUnstorableValue(value);
    if (problem !== undefined) return describeValidationErrors([problem], 'body');
    return validate(value) ? [] : describeValidationErrors(validate.errors ?? [], 'body');
  };
}

/** Names the field each validation error is about, in the request's own terms. */
export function describeValidationErrors(errors: ErrorObject[], part: string | undefined): FieldProblem[] {
  const problems = new Map<string, FieldProblem>();
  for (const error of errors) {
    const problem = describe(error, part);
    if (!problems.has(problem.field)) problems.set(problem.field, problem);
  }
  return [...problems.values()];
}

function describe(error: ErrorObject, part: string | undefined): FieldProblem {
  const base = fieldPath(error.instancePath);
  const join = (child: string) => (base === '' ? child : `${base}.${child}`);
  const where = part === 'body' || part === undefined ? '' : `${part} `;
  switch (error.keyword) {
    case 'required': {
      const field = join(String(error.params.missingProperty));
      return { field, reason: 'required', expected: 'present', message: `${where}${field} is required` };
    }
    case 'additionalProperties': {
      const field = join(String(error.params.additionalProperty));
      return {
        field,
        reason: 'unknown',
        expected: 'absent',
        message: `${where}${field} is not a known field`,
      };
    }
    case 'enum': {
      const allowed = (error.params.allowedValues as unknown[]).join(', ');
      return {
        field: base,
        reason: 'invalid',
        expected: `one of ${allowed}`,
        received: describeReceived(error.data),
        message: `${where}${base} must be one of ${allowed}`,
      };
    }
    default: {
      const field = base === '' ? (part ?? 'body') : base;
      const formatMessage =
        error.keyword === 'format' ? formatProblems[String(error.params.format)]?.message : undefined;
      return {
        field,
        reason: 'invalid',
        expected: describeExpected(error),
        received: describeReceived(error.data),
        message: `${where}${field} ${formatMessage ?? error.message ?? 'is invalid'}`,
      };
    }
  }
}

/** `/actions/0/amount` -> `actions[0].amount`: the one way the API writes a field's path. */
export function fieldPath(instancePath: string): string {
  let path = '';
  for (const segment of instancePath.split('/').slice(1)) {
    const name = segment.replaceAll('~1', '/').replaceAll('~0', '~');
    path += /^\d+$/.test(name) ? `[${name}]` : path === '' ? name : `.${name}`;
  }
  return path;
}

function describeExpected(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'type') return String(params.type);
  if (error.keyword === 'format')
    return formatProblems[String(params.format)]?.expected ?? String(params.format);
  if (error.keyword === 'pattern') return `pattern ${String(params.pattern)}`;
  if (error.keyword === 'const') return JSON.stringify(params.allowedValue);
  const limit = params.limit;
  if (limit !== undefined) return `${error.keyword} ${String(limit)}`;
  return error.keyword;
}

/** What came, shortened: a type name for objects and arrays, the value itself for scalars. */
function describeReceived(data: unknown): string | undefined {
  if (data === undefined) return undefined;
  if (data === null) return 'null';
  if (Array.isArray(data)) return `array of ${data.length}`;
  if (typeof data === 'object') return 'object';
  const text = String(data);
  return text.length > receivedLengthMax ? `${text.slice(0, receivedLengthMax)}…` : text;
}
