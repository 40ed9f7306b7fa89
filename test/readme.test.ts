// The README's walk-through, run as written: every curl command of its "A walk-through" section
// goes to a real app with workers, and every response it shows (`# 201 {...}`) must match what the
// server answers: the status, and each literal "field":value it prints (`…` stands for anything).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventWorkers } from '../src/modules/events/index.js';
import { buildTestApp, startTestWorkers, type Tenant, type TestApp } from './harness.js';
import { parseSteps, runSteps, shellBlocks } from './shell-walkthrough.js';

const readme = readFileSync(path.resolve(import.meta.dirname, '../README.md'), 'utf8');

/**
 * The shell blocks between "## A walk-through" and the next heading. Subsections after it (the
 * household wallet) are sketches on ids they do not create.
 */
function walkThroughBlocks(): string[] {
  const start = readme.indexOf('## A walk-through');
  const end = readme.slice(start + 1).search(/\n#{2,3} /) + start + 1;
  return shellBlocks(readme.slice(start, end));
}

let tenant: Tenant;
let workers: EventWorkers;

beforeAll(async () => {
  const t: TestApp = await buildTestApp();
  tenant = await t.createOrganization();
  workers = startTestWorkers(t);
});

afterAll(async () => {
  await workers.stop();
});

describe('the README walk-through', () => {
  it('answers what the README shows, step by step', async () => {
    const steps = parseSteps(walkThroughBlocks().join('\n'));
    expect(steps.length).toBeGreaterThanOrEqual(12);
    const { failures, checked } = await runSteps(tenant, steps);
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(8);
  });
});
