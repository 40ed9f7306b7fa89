// Walks the OpenAPI document the server publishes: every operation with its parameters and body
// schema, and a minimal valid example for any schema. The hostile-input and tenant-isolation suites
// are generated from it, so a new route is covered the moment it is registered.
import type { FastifyInstance } from 'fastify';

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  patternProperties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
}

export interface Operation {
  method: string;
  path: string;
  pathParams: string[];
  pathSchemas: Record<string, JsonSchema>;
  query: Record<string, JsonSchema>;
  requiredQuery: string[];
  body: JsonSchema | undefined;
}

interface OpenApiDoc {
  paths: Record<string, Record<string, RawOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

interface RawOperation {
  parameters?: { in: string; name: string; required?: boolean; schema: JsonSchema }[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
}

export async function loadOperations(
  app: FastifyInstance,
): Promise<{ operations: Operation[]; doc: OpenApiDoc }> {
  const response = await app.inject({ method: 'GET', url: '/openapi.json' });
  const doc = response.json() as OpenApiDoc;
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (!path.startsWith('/v1/')) continue;
    for (const [method, raw] of Object.entries(methods)) {
      const parameters = raw.parameters ?? [];
      operations.push({
        method: method.toUpperCase(),
        path,
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        pathSchemas: Object.fromEntries(
          parameters.filter((p) => p.in === 'path').map((p) => [p.name, p.schema]),
        ),
        query: Object.fromEntries(parameters.filter((p) => p.in === 'query').map((p) => [p.name, p.schema])),
        requiredQuery: parameters.filter((p) => p.in === 'query' && p.required).map((p) => p.name),
        body: raw.requestBody?.content['application/json']?.schema,
      });
    }
  }
  return { operations, doc };
}

export function resolve(schema: JsonSchema, doc: OpenApiDoc): JsonSchema {
  if (schema.$ref === undefined) return schema;
  const name = schema.$ref.split('/').pop() ?? '';
  const target = doc.components?.schemas?.[name];
  if (target === undefined) throw new Error(`unresolved ${schema.$ref}`);
  return resolve(target, doc);
}

const patternCandidates = ['1', '10', 'a@b.co', 'a', 'abc', '24h', '2024-01-15T10:30:00Z', 'vip'];

/** A minimal value that the schema accepts: required properties only, smallest sizes. */
export function exampleOf(schema: JsonSchema, doc: OpenApiDoc): unknown {
  const s = resolve(schema, doc);
  if (s.const !== undefined) return s.const;
  if (s.enum !== undefined) return s.enum[0];
  const options = s.anyOf ?? s.oneOf;
  if (options !== undefined) {
    const nonNull = options.find((option) => resolve(option, doc).type !== 'null') ?? options[0];
    return nonNull === undefined ? null : exampleOf(nonNull, doc);
  }
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'object':
      return Object.fromEntries(
        (s.required ?? []).map((key) => [key, exampleOf(s.properties?.[key] ?? {}, doc)]),
      );
    case 'array':
      return Array.from({ length: s.minItems ?? 0 }, () => exampleOf(s.items ?? {}, doc));
    case 'integer':
    case 'number':
      return s.minimum ?? 1;
    case 'boolean':
      return true;
    case 'string':
      return exampleString(s);
    default:
      return {};
  }
}

function exampleString(s: JsonSchema): string {
  if (s.format === 'uuid') return '01900000-0000-7000-8000-000000000000';
  if (s.format === 'date-time') return new Date().toISOString();
  if (s.pattern !== undefined) {
    const pattern = new RegExp(s.pattern, 'u');
    const fitting = patternCandidates.find((candidate) => pattern.test(candidate));
    if (fitting !== undefined) return fitting;
  }
  return 'a'.repeat(Math.max(1, s.minLength ?? 1));
}

export function fillPath(path: string, values: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_match, name: string) => encodeURIComponent(values[name] ?? ''));
}
