// The guides in docs/ (getting-started.md and how-to/*.md), run as a reader runs them: every curl
// command of their shell blocks goes to a real app with workers, each guide for an organization of
// its own, and every response a guide shows must match what the server answers. (Console
// transcripts such as `npm ci && npm start` are not shell blocks: test/process covers the start.)
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventWorkers } from '../src/modules/events/index.js';
import { buildTestApp, startTestWorkers, type TestApp } from './harness.js';
import { parseSteps, runSteps, shellBlocks } from './shell-walkthrough.js';

const docs = path.resolve(import.meta.dirname, '../docs');
const guides = [
  'getting-started.md',
  ...readdirSync(path.join(docs, 'how-to'))
    .filter((file) => file.endsWith('.md'))
    .map((file) => `how-to/${file}`),
];

let t: TestApp;
let workers: EventWorkers;

beforeAll(async () => {
  t = await buildTestApp();
  // The guides show fixed dates (expiries a year after an event): they read as of this day.
  t.testClock.set('2026-12-01T12:00:00Z');
  workers = startTestWorkers(t);
});

afterAll(async () => {
  await workers.stop();
});

describe('the guides', () => {
  it('include getting started and a how-to for each task people asked for', () => {
    expect(guides.sort()).toEqual([
      'getting-started.md',
      'how-to/earn-and-burn.md',
      'how-to/expiring-points.md',
      'how-to/holds.md',
      'how-to/model-a-program.md',
      'how-to/moving-from-scrip.md',
      'how-to/webhooks.md',
    ]);
  });

  it.each(
    guides.filter((guide) => shellBlocks(readFileSync(path.join(docs, guide), 'utf8')).length > 0),
  )('%s answers what it shows, step by step', async (guide) => {
    const steps = parseSteps(shellBlocks(readFileSync(path.join(docs, guide), 'utf8')).join('\n'));
    const { failures, checked } = await runSteps(await t.createOrganization(), steps);
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(steps.length - 2);
  });
});
