// docs/getting-started.md, run as a reader runs it: every curl command of its shell blocks goes to a
// real app with workers, and every response it shows must match what the server answers. (Its first
// block, `npm ci && npm start`, is a console transcript: test/process covers the start itself.)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventWorkers } from '../src/modules/events/index.js';
import { buildTestApp, startTestWorkers, type Tenant } from './harness.js';
import { parseSteps, runSteps, shellBlocks } from './shell-walkthrough.js';

const guide = readFileSync(path.resolve(import.meta.dirname, '../docs/getting-started.md'), 'utf8');

let tenant: Tenant;
let workers: EventWorkers;

beforeAll(async () => {
  const t = await buildTestApp();
  tenant = await t.createOrganization();
  workers = startTestWorkers(t);
});

afterAll(async () => {
  await workers.stop();
});

describe('the getting-started guide', () => {
  it('answers what the guide shows, step by step', async () => {
    const steps = parseSteps(shellBlocks(guide).join('\n'));
    expect(steps.length).toBe(11);
    const { failures, checked } = await runSteps(tenant, steps);
    expect(failures).toEqual([]);
    expect(checked).toBe(10);
  });
});
