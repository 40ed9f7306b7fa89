import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import { testRule } from '../../../test/rules.js';
import {
  celEvaluationOverrunMs,
  celEventEvaluationTimeMaxMs,
  evaluationMessageJobsMax,
} from '../../platform/limits.js';
import { createLogger } from '../../platform/logger.js';
import type { RuleVersion } from './compile-rule.js';
import { type EvaluationInput, evaluateRules } from './evaluate-rules.js';
import type { EvaluationJob } from './evaluation-job.js';
import { EvaluationThread, evaluateRuleIsolated, evaluateRulesIsolated } from './evaluation-thread.js';
import type { Action } from './rules.schemas.js';

const points = '0192b000-0000-7000-8000-000000000001';
function rule(condition: string, actions: Action[] = [credit('1')], extra: Partial<RuleVersion> = {}) {
  return testRule(condition, actions, extra);
}

const credit = (amount: string): Action => ({ type: 'CREDIT', asset_id: points, amount });

function input(eventData: Record<string, unknown>): EvaluationInput {
  return {
    eventData,
    eventTimestamp: new Date('2026-03-01T12:00:00Z'),
    participant: { tags: ['vip'], counters: { purchases: 3 }, attributes: {}, tiers: {}, status: 'ACTIVE' },
    program: { tags: [], counters: {}, attributes: {} },
  };
}

const ten = '[0,1,2,3,4,5,6,7,8,9]';
/** Runs until its own wall-clock ceiling, then ends SKIPPED_TIMEOUT. */
const slow = `${ten}.all(a, ${ten}.all(b, ${ten}.all(c, ${ten}.all(d, ${ten}.all(e, ${ten}.all(f, ${ten}.all(g, true)))))))`;

describe('isolated rule evaluation', () => {
  it('answers what in-process evaluation answers: statuses, resolved actions, stop_after_match', async () => {
    const rules = [
      rule('event.amount > 100', [credit('round(event.amount * 0.05, 2)'), { type: 'TAG', tag: 'big' }], {
        stop_after_match: true,
      }),
      rule('true'),
      rule('event.missing == 1'),
      rule('1 / (int(event.amount) - int(event.amount)) > 0'),
      rule(slow),
    ];
    for (const data of [{ amount: 249.9 }, { amount: 5 }]) {
      expect(await evaluateRulesIsolated(rules, input(data))).toEqual(evaluateRules(rules, input(data)));
    }
  });

  it('keeps its process alive only while it has work: a script that evaluated a rule exits on its own', () => {
    const module = (path: string) => new URL(path, import.meta.url).href;
    const script = `
      const { evaluateRuleIsolated } = await import(${JSON.stringify(module('./evaluation-thread.ts'))});
      const { testRule } = await import(${JSON.stringify(module('../../../test/rules.ts'))});
      const input = { ...${JSON.stringify(input({}))}, eventTimestamp: new Date() };
      const evaluation = await evaluateRuleIsolated(testRule('true', []), input);
      console.log(evaluation.status);`;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'accrue-thread-')), 'evaluate.mjs');
    fs.writeFileSync(file, script);
    // A process the thread kept alive would reach the timeout and be killed (status null).
    const child = spawnSync(process.execPath, ['--import', 'tsx', file], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    fs.rmSync(path.dirname(file), { recursive: true });
    expect({ status: child.status, stdout: child.stdout.trim() }, child.stderr).toEqual({
      status: 0,
      stdout: 'MATCHED',
    });
  });

  it('evaluates one rule on its own for simulate, ignoring stop_after_match', async () => {
    const evaluation = await evaluateRuleIsolated(rule('"vip" in participant.tags'), input({}));
    expect(evaluation).toMatchObject({ status: 'MATCHED', actions: [{ type: 'CREDIT', amount: '1' }] });
  });

  it('answers concurrent jobs each with its own results', async () => {
    const threshold = rule('event.n > 10');
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, n) => evaluateRulesIsolated([threshold], input({ n }))),
    );
    expect(answers.map(([evaluation]) => evaluation?.status)).toEqual(
      Array.from({ length: 40 }, (_, n) => (n > 10 ? 'MATCHED' : 'NOT_MATCHED')),
    );
  });

  it('sends the jobs queued while the thread is busy as one message, and answers each with its own results', async () => {
    const thread = new EvaluationThread(celEvaluationOverrunMs);
    const sent = vi.spyOn(Worker.prototype, 'postMessage');
    try {
      const threshold = [rule('event.n > 10')];
      // Queued before the thread is ready, as jobs queue while it evaluates.
      const answers = await Promise.all(
        [5, 11, 12, 3].map((n) =>
          thread.run({ mode: 'event', events: [toEvent(threshold, input({ n }))] }, threshold),
        ),
      );
      expect(answers.map(([evaluations]) => evaluations?.map((evaluation) => evaluation.status))).toEqual([
        ['NOT_MATCHED'],
        ['MATCHED'],
        ['MATCHED'],
        ['NOT_MATCHED'],
      ]);
      expect(sent.mock.calls.map(([message]) => (message as EvaluationJob).events.length)).toEqual([4]);
    } finally {
      sent.mockRestore();
    }
  });

  it(`sends at most ${evaluationMessageJobsMax} waiting jobs in one message`, async () => {
    const thread = new EvaluationThread(celEvaluationOverrunMs);
    const sent = vi.spyOn(Worker.prototype, 'postMessage');
    try {
      const threshold = [rule('event.n > 10')];
      const run = (count: number) =>
        Promise.all(
          Array.from({ length: count }, (_, n) =>
            thread.run({ mode: 'event', events: [toEvent(threshold, input({ n }))] }, threshold),
          ),
        );
      const answers = await run(evaluationMessageJobsMax + 1);
      expect(answers.map(([evaluations]) => evaluations?.[0]?.status)).toEqual(
        Array.from({ length: evaluationMessageJobsMax + 1 }, (_, n) => (n > 10 ? 'MATCHED' : 'NOT_MATCHED')),
      );
      // n jobs in one message; the one after them in the next.
      expect(sent.mock.calls.map(([message]) => (message as EvaluationJob).events.length)).toEqual([
        evaluationMessageJobsMax,
        1,
      ]);
    } finally {
      sent.mockRestore();
    }
  });

  it('runs a merged message that failed again job by job: only the job that fails is rejected', async () => {
    const thread = new EvaluationThread(celEvaluationOverrunMs);
    const sent = vi.spyOn(Worker.prototype, 'postMessage');
    try {
      const good = [rule('event.n > 10')];
      const valid = rule('true');
      // A version the thread cannot compile: its job fails as a whole, not rule by rule.
      const broken = [
        {
          ...valid,
          history_id: `broken-${valid.history_id}`,
          condition: { ...valid.condition, source: '((' },
        },
      ];
      const job = (rules: typeof good, n: number) =>
        thread.run({ mode: 'event', events: [toEvent(rules, input({ n }))] }, rules);
      const answers = await Promise.allSettled([job(good, 20), job(broken, 20), job(good, 1)]);
      expect(
        answers.map((answer) =>
          answer.status === 'fulfilled' ? answer.value[0]?.[0]?.status : String(answer.reason),
        ),
      ).toEqual([
        'MATCHED',
        expect.stringMatching(/^Error: rule evaluation failed: .*condition/),
        'NOT_MATCHED',
      ]);
      expect(sent.mock.calls.map(([message]) => (message as EvaluationJob).events.length)).toEqual([
        3, 1, 1, 1,
      ]);
    } finally {
      sent.mockRestore();
    }
  });

  it('replaces a thread that overruns the hard limit: the rule it was on ends SKIPPED_TIMEOUT, the others keep their results', async () => {
    const hanging = new URL('./evaluation-thread.test-worker.mjs', import.meta.url);
    const thread = new EvaluationThread(celEvaluationOverrunMs, hanging);
    const lines: string[] = [];
    thread.startReporting(createLogger('warn', { write: (line: string) => lines.push(line) }));
    const hang = (condition: string) => {
      const hanging = rule(condition);
      return { ...hanging, history_id: `hang-${hanging.history_id}` };
    };
    const rules = [rule('event.n == 1'), hang('event.n == 1'), rule('event.n > 0'), hang('true')];
    const job = (of: typeof rules) => ({ mode: 'event' as const, events: [toEvent(of, input({ n: 1 }))] });
    const started = performance.now();
    const [evaluations] = await thread.run(job(rules), rules);
    expect(evaluations?.map(({ status, message }) => [status, message])).toEqual([
      ['MATCHED', null],
      ['SKIPPED_TIMEOUT', 'evaluation time limit exceeded'],
      ['MATCHED', null],
      ['SKIPPED_TIMEOUT', 'evaluation time limit exceeded'],
    ]);
    // Two overruns, each the event's ceiling plus the margin, and a new thread each time.
    expect(performance.now() - started).toBeGreaterThan(
      2 * (celEventEvaluationTimeMaxMs + celEvaluationOverrunMs),
    );
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: 40, rule_id: rules[1]?.id, rule_history_id: rules[1]?.history_id }),
      expect.objectContaining({ level: 40, rule_id: rules[3]?.id, rule_history_id: rules[3]?.history_id }),
    ]);
    // The replacement thread answers the next job, its versions sent again.
    const [next] = await thread.run(job(rules.slice(2, 3)), rules.slice(2, 3));
    expect(next?.[0]?.status).toBe('MATCHED');
  }, 30_000);

  it('blames an overrun in a merged message on its own job: the other jobs keep their results', async () => {
    const thread = new EvaluationThread(
      celEvaluationOverrunMs,
      new URL('./evaluation-thread.test-worker.mjs', import.meta.url),
    );
    const valid = rule('event.n > 10');
    const hanging = [{ ...valid, history_id: `hang-${valid.history_id}` }];
    const job = (rules: typeof hanging, n: number) =>
      thread.run({ mode: 'event', events: [toEvent(rules, input({ n }))] }, rules);
    const answers = await Promise.all([
      job([rule('event.n > 10')], 20),
      job(hanging, 20),
      job([rule('event.n > 10')], 1),
    ]);
    expect(answers.map(([evaluations]) => evaluations?.[0]?.status)).toEqual([
      'MATCHED',
      'SKIPPED_TIMEOUT',
      'NOT_MATCHED',
    ]);
  }, 30_000);

  it('fails the jobs of a thread that cannot start, naming why, instead of restarting it forever', async () => {
    const thread = new EvaluationThread(
      celEvaluationOverrunMs,
      new URL('./no-such-worker.mjs', import.meta.url),
    );
    const rules = [rule('true')];
    await expect(thread.run({ mode: 'event', events: [toEvent(rules, input({}))] }, rules)).rejects.toThrow(
      /the rule evaluation thread did not start: .*no-such-worker/,
    );
  });
});

function toEvent(rules: ReturnType<typeof rule>[], eventInput: EvaluationInput) {
  return {
    rules: rules.map((r) => ({ history_id: r.history_id, budgets: r.budgets })),
    input: eventInput,
    overrun: [],
  };
}
