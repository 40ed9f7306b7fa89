// The README's walk-through, run as written: every curl command of its "A walk-through" section
// goes to a real app with workers, and every response it shows (`# 201 {...}`) must match what the
// server answers: the status, and each literal "field":value it prints (`…` stands for anything).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventWorkers } from '../src/modules/events/index.js';
import { buildTestApp, startTestWorkers, type Tenant, type TestApp } from './harness.js';

interface Step {
  method: string;
  url: string;
  body: string | undefined;
  /** `export NAME=<...>` lines that follow the command, in order. */
  exports: string[];
  expected: { status: number; text: string } | undefined;
}

const readme = readFileSync(path.resolve(import.meta.dirname, '../README.md'), 'utf8');

/**
 * The shell blocks between "## A walk-through" and the next heading. Subsections after it (the
 * household wallet) are sketches on ids they do not create.
 */
function walkThroughBlocks(): string[] {
  const start = readme.indexOf('## A walk-through');
  const end = readme.slice(start + 1).search(/\n#{2,3} /) + start + 1;
  const section = readme.slice(start, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
}

/** Commands (continuation lines joined), each with the expectation and exports after it. */
function parseSteps(block: string): Step[] {
  const steps: Step[] = [];
  const lines = block.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index] ?? '';
    const step = steps.at(-1);
    if (line.startsWith('curl ')) {
      let command = line;
      // Joined while a line ends in a backslash or a single-quoted body is still open.
      while (command.endsWith('\\') || isQuoteOpen(command)) {
        index += 1;
        command = `${command.replace(/\\$/, '')}\n${lines[index] ?? ''}`;
      }
      steps.push(parseCurl(command));
    } else if (/^# \d{3} /.test(line) && step !== undefined) {
      let text = line.slice(2);
      while (/^# {2,}\S/.test(lines[index + 1] ?? '')) {
        index += 1;
        text += (lines[index] ?? '').slice(1).trim();
      }
      step.expected = { status: Number(text.slice(0, 3)), text: text.slice(4) };
    } else if (line.startsWith('export ') && step !== undefined) {
      step.exports.push(line);
    }
  }
  return steps;
}

function isQuoteOpen(command: string): boolean {
  return command.replace(/'\$[A-Z]+'/g, '').split("'").length % 2 === 0;
}

function parseCurl(command: string): Step {
  // A body is single-quoted; '$NAME' inside it closes the quotes around a shell variable.
  const spliced = command.replace(/'\$([A-Z]+)'/g, '@@$1@@');
  const body = /--data '([\s\S]*?)'/.exec(spliced)?.[1]?.replace(/@@([A-Z]+)@@/g, '$$$1');
  const url = /"?\$API(\/[^"\s]*)"?/.exec(command)?.[1];
  if (url === undefined) throw new Error(`no $API URL in: ${command}`);
  return { method: /-X (\w+)/.exec(command)?.[1] ?? 'GET', url, body, exports: [], expected: undefined };
}

/** The literal "field":value pairs a shown response contains; anything with … is left out. */
function literalFields(text: string): string[] {
  const value = String.raw`"[^"…]*"|-?\d+(?:\.\d+)?|true|false|null|\[\]|\{\}|\["[^"…\]]*"(?:,"[^"…\]]*")*\]`;
  return [...text.matchAll(new RegExp(String.raw`"[a-z_]+":(?:${value})(?=[,}\]])`, 'g'))].map(
    (match) => match[0],
  );
}

let t: TestApp;
let tenant: Tenant;
let workers: EventWorkers;

beforeAll(async () => {
  t = await buildTestApp();
  tenant = await t.createOrganization();
  workers = startTestWorkers(t);
});

afterAll(async () => {
  await workers.stop();
});

/** Until no event is PENDING or PROCESSING: what the README's readers wait a moment for. */
async function waitForEvents(): Promise<void> {
  const unfinished = async (status: string) =>
    ((await tenant.request('GET', `/v1/events?status=${status}`)).json() as { data: unknown[] }).data.length;
  for (let waited = 0; waited < 20_000; waited += 50) {
    if ((await unfinished('PENDING')) + (await unfinished('PROCESSING')) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('events still unfinished');
}

describe('the README walk-through', () => {
  it('answers what the README shows, step by step', async () => {
    const steps = parseSteps(walkThroughBlocks().join('\n'));
    expect(steps.length).toBeGreaterThanOrEqual(12);
    const variables = new Map<string, string>();
    let eventId: string | undefined;
    let checked = 0;
    for (const step of steps) {
      const substitute = (text: string) =>
        text.replace(/\$([A-Z]+)/g, (whole, name: string) => variables.get(name) ?? whole);
      if (step.method === 'GET') await waitForEvents();
      const response = await tenant.request(
        step.method,
        substitute(step.url),
        step.body === undefined ? undefined : JSON.parse(substitute(step.body)),
      );
      const label = `${step.method} ${step.url}`;
      const answer = response.json() as { id?: string; data?: { id: string }[] };
      if (step.method === 'POST' && step.url === '/v1/events') eventId = answer.id;
      for (const line of step.exports) {
        const name = /^export ([A-Z]+)=/.exec(line)?.[1] ?? '';
        // "<the id above>", "<the id of the first event>", or "<..., from GET /v1/...>".
        const source = /from GET (\S+?)>/.exec(line)?.[1];
        const from = source === undefined ? answer : (await tenant.request('GET', source)).json();
        const value = name === 'EVENT' ? eventId : (from.id ?? from.data?.[0]?.id);
        if (value === undefined) throw new Error(`no value for ${line}`);
        variables.set(name, value);
      }
      if (step.expected === undefined) {
        expect(response.statusCode, label).toBeLessThan(300);
        continue;
      }
      expect(response.statusCode, label).toBe(step.expected.status);
      for (const field of literalFields(step.expected.text)) expect(response.body, label).toContain(field);
      checked += 1;
    }
    expect(checked).toBeGreaterThanOrEqual(8);
  });
});
