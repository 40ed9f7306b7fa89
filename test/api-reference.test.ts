// The API reference served at /openapi.json: every operation has an operationId, a summary, a
// description, named responses, error responses that list their codes, and request and response
// examples that match their schemas; Redocly's recommended rules pass on the document.
//
// A route added without them fails here with the operation's name and what it lacks. Examples live
// on the TypeBox schemas (`examples: [...]`), descriptions and operationIds on each route's schema.
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { errorStatusByCode } from '../src/platform/errors.js';
import { buildTestApp } from './harness.js';

interface Media {
  schema?: Schema;
  example?: unknown;
  examples?: Record<string, { value: unknown }>;
}
interface Schema {
  $ref?: string;
  examples?: unknown[];
  properties?: { data?: { items?: Schema } };
}
interface Operation {
  operationId?: string;
  parameters?: { in: string; name: string }[];
  summary?: string;
  description?: string;
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { description: string; content?: Record<string, Media> }>;
}
interface Document {
  servers?: { url: string }[];
  info: { license?: { name: string } };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

const methods = ['get', 'post', 'put', 'patch', 'delete'];
const repositoryRoot = path.resolve(import.meta.dirname, '..');
let doc: Document;
let ajv: Ajv;

beforeAll(async () => {
  const t = await buildTestApp();
  doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addFormat('key-name', true);
  ajv.addSchema(doc as object, 'openapi.json');
});

function operations(): { name: string; pointer: string; operation: Operation }[] {
  return Object.entries(doc.paths).flatMap(([route, item]) =>
    methods.flatMap((method) => {
      const operation = item[method];
      if (operation === undefined) return [];
      const name = operation.operationId ?? `${method.toUpperCase()} ${route}`;
      const pointer = `#/paths/${route.replaceAll('~', '~0').replaceAll('/', '~1')}/${method}`;
      return [{ name, pointer, operation }];
    }),
  );
}

/**
 * The examples a media object shows, and where their schema is below its `schema`: its own, its
 * (referenced) schema's, or for a page of a list, its items' (as renderers compose them).
 */
function examplesOf(media: Media): { values: unknown[]; at: string } {
  if (media.example !== undefined) return { values: [media.example], at: '' };
  if (media.examples !== undefined) {
    return { values: Object.values(media.examples).map((example) => example.value), at: '' };
  }
  const schema = resolve(media.schema);
  if (schema?.examples !== undefined) return { values: schema.examples, at: '' };
  return { values: resolve(schema?.properties?.data?.items)?.examples ?? [], at: '/properties/data/items' };
}

function resolve(schema: Schema | undefined): Schema | undefined {
  const ref = schema?.$ref;
  return ref === undefined ? schema : doc.components.schemas[ref.split('/').at(-1) ?? ''];
}

/** Each example that does not match its schema, with Ajv's message. */
function mismatches(media: Media, pointer: string): string[] {
  const { values, at } = examplesOf(media);
  return values.flatMap((example, index) => {
    const valid = ajv.validate({ $ref: `openapi.json${pointer}/schema${at}` }, example);
    return valid ? [] : [`example ${index + 1} does not match its schema: ${ajv.errorsText(ajv.errors)}`];
  });
}

/** What an operation lacks, in words; empty when it is complete. */
function gapsOf(operation: Operation): string[] {
  const gaps: string[] = [];
  if (!operation.operationId) gaps.push('operationId');
  if (!operation.summary) gaps.push('summary');
  if (!operation.description) gaps.push('description');
  const body = operation.requestBody?.content['application/json'];
  if (body !== undefined && examplesOf(body).values.length === 0) gaps.push('request example');
  const successes = Object.entries(operation.responses).filter(([status]) => status.startsWith('2'));
  const shown = successes.filter(([, response]) => response.content !== undefined);
  if (
    shown.length > 0 &&
    !shown.some(([, r]) => examplesOf(r.content?.['application/json'] ?? {}).values.length > 0)
  )
    gaps.push('response example');
  for (const [status, response] of Object.entries(operation.responses)) {
    if (response.description === 'Default Response') gaps.push(`a name for response ${status}`);
  }
  return gaps;
}

/** Error responses name their codes ("not_found, conflict"), each one answered with that status. */
function unlistedErrorCodes(operation: Operation): string[] {
  return Object.entries(operation.responses).flatMap(([status, response]) => {
    if (response.content?.['application/json']?.schema?.$ref !== '#/components/schemas/Error') return [];
    const codes = response.description.split(', ');
    const wrong = codes.filter(
      (code) => errorStatusByCode[code as keyof typeof errorStatusByCode] !== Number(status),
    );
    return wrong.length === 0 ? [] : [`response ${status} lists ${wrong.join(', ')}, not codes of ${status}`];
  });
}

describe('the API reference', () => {
  it('names its servers and its license', () => {
    expect(doc.servers?.length).toBeGreaterThan(0);
    expect(doc.info.license?.name).toBe('Apache-2.0');
  });

  it('gives every operation an id, a summary, a description, named responses and examples', () => {
    const problems: string[] = [];
    const ids = new Set<string>();
    for (const { name, operation } of operations()) {
      if (ids.has(name)) problems.push(`${name}: operationId used twice`);
      ids.add(name);
      const gaps = gapsOf(operation);
      if (gaps.length > 0) problems.push(`${name} lacks: ${gaps.join(', ')}`);
      problems.push(...unlistedErrorCodes(operation).map((problem) => `${name}: ${problem}`));
    }
    expect(problems, `\n${problems.join('\n')}\n`).toEqual([]);
  });

  it('shows examples that match their schemas', () => {
    const problems: string[] = [];
    for (const { name, pointer, operation } of operations()) {
      for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) {
        problems.push(
          ...mismatches(media, `${pointer}/requestBody/content/${type.replace('/', '~1')}`).map(
            (p) => `${name} request: ${p}`,
          ),
        );
      }
      for (const [status, response] of Object.entries(operation.responses)) {
        for (const [type, media] of Object.entries(response.content ?? {})) {
          const at = `${pointer}/responses/${status}/content/${type.replace('/', '~1')}`;
          problems.push(...mismatches(media, at).map((p) => `${name} response ${status}: ${p}`));
        }
      }
    }
    expect(problems, `\n${problems.join('\n')}\n`).toEqual([]);
    // The seeds' pages: their request and response examples are in the reference.
    const seeded = operations().filter(({ name }) =>
      ['createProgram', 'createParticipant', 'listParticipantEvents', 'ingestEventBatch'].includes(name),
    );
    expect(seeded.map(({ name, operation }) => [name, gapsOf(operation)])).toEqual([
      ['createProgram', []],
      ['createParticipant', []],
      ['ingestEventBatch', []],
      ['listParticipantEvents', []],
    ]);
  });

  it('declares the CSV download of every route that takes ?format=csv, with an example', () => {
    const exports = operations().filter(({ operation }) =>
      (operation.parameters ?? []).some(
        (parameter) => parameter.in === 'query' && parameter.name === 'format',
      ),
    );
    expect(exports.map(({ name }) => name).sort()).toEqual([
      'getExpirationScheduleReport',
      'getLedgerSummaryReport',
      'getLiabilityReport',
      'getLiabilityRollforwardReport',
      'getProgramActivityReport',
      'listJournalEntries',
      'listParticipantBalances',
      'listProgramWalletBalances',
    ]);
    for (const { name, operation } of exports) {
      const content = operation.responses['200']?.content ?? {};
      expect(Object.keys(content), name).toEqual(['application/json', 'text/csv']);
      const example = content['text/csv']?.example;
      expect(typeof example === 'string' && /^[a-z_]+(,[a-z_]+)*\r\n.+\r\n/.test(example), name).toBe(true);
    }
  });

  it('passes Redocly lint with its recommended rules, offline', async () => {
    const directory = await mkdtemp(path.join(os.tmpdir(), 'accrue-redocly-'));
    try {
      await writeFile(path.join(directory, 'openapi.json'), JSON.stringify(doc));
      for (const file of ['redocly.yaml', '.redocly.lint-ignore.yaml']) {
        await copyFile(path.join(repositoryRoot, file), path.join(directory, file));
      }
      const { stdout } = await promisify(execFile)(
        path.join(repositoryRoot, 'node_modules/.bin/redocly'),
        ['lint', '--format=json', 'openapi.json'],
        {
          cwd: directory,
          env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
        },
      );
      const report = JSON.parse(stdout.slice(stdout.indexOf('{')));
      expect(report.problems).toEqual([]);
      expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
