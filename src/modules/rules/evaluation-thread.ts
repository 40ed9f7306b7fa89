// Rule evaluation off the event loop that serves HTTP. Rules are tenant code: the cost meter bounds
// every function it charges, but a call it misjudges would hold whatever thread runs it. So rules run
// in a worker thread, in arrival order, under a hard time limit: a rule still running
// celEvaluationOverrunMs past the event's own ceiling has its thread terminated and replaced; it ends
// SKIPPED_TIMEOUT, and the job runs again without running it. The jobs that queued while the thread
// was busy (a claim's parallel transactions each wait on one event) go to it as one message.
import { Worker } from 'node:worker_threads';
import { assert } from '../../platform/assert.js';
import {
  celCompiledCacheSizeMax,
  celEvaluationOverrunMs,
  celEvaluationThreadHeapMaxMb,
  celEventEvaluationTimeMaxMs,
  evaluationMessageJobsMax,
} from '../../platform/limits.js';
import type { Logger } from '../../platform/logger.js';
import { ruleEvaluationProblems } from '../../platform/metrics.js';
import type { RuleVersion } from './compile-rule.js';
import type { EvaluableRule, EvaluationInput, RuleEvaluation } from './evaluate-rules.js';
import {
  type EvaluationJob,
  EvaluationProgress,
  type EvaluationReply,
  runEvaluationJob,
  versionOf,
} from './evaluation-job.js';

interface QueuedJob {
  job: EvaluationJob;
  /** The rules the job's events name; made versions only when the thread lacks them. */
  rules: EvaluableRule[];
  resolve(results: RuleEvaluation[][]): void;
  reject(error: Error): void;
  /** The jobs a merged job was made of, in order. */
  parts?: QueuedJob[];
  /** Sent on its own: it was part of a merged job that failed. */
  alone?: boolean;
}

/** The job being evaluated, and the timer of its hard limit. */
interface Running {
  queued: QueuedJob;
  id: number;
  timer: NodeJS.Timeout;
}

const workerEntry = new URL('./evaluation-worker.mjs', import.meta.url);

export class EvaluationThread {
  private worker: Worker | undefined;
  private ready = false;
  /** History ids of the versions the current thread was sent. */
  private readonly sent = new Set<string>();
  private readonly queue: QueuedJob[] = [];
  private running: Running | undefined;
  private nextId = 1;
  private logger: Logger | undefined;
  /** Where the current thread reports the rule it is on; each thread has its own. */
  private progress = new EvaluationProgress();

  /** `entry`: the thread's script; tests give one that can be made to hang. */
  constructor(
    private readonly overrunMs: number,
    private readonly entry: URL = workerEntry,
  ) {}

  run(job: EvaluationJob, rules: EvaluableRule[]): Promise<RuleEvaluation[][]> {
    const [results] = this.runAll([job], rules);
    assert(results !== undefined, 'one job in, one result out');
    return results;
  }

  /** Queues the jobs before dispatching any, so that an idle thread gets them in one message. */
  runAll(jobs: EvaluationJob[], rules: EvaluableRule[]): Promise<RuleEvaluation[][]>[] {
    const results = jobs.map(
      (job) =>
        new Promise<RuleEvaluation[][]>((resolve, reject) => {
          this.queue.push({ job, rules, resolve, reject });
        }),
    );
    this.next();
    return results;
  }

  private next(): void {
    this.dispatchNext();
    // The thread keeps the process alive while it has work (a script awaiting a job it queued before
    // the thread was ready would otherwise end there), and never when idle.
    if (this.running !== undefined || this.queue.length > 0) this.worker?.ref();
    else this.worker?.unref();
  }

  private dispatchNext(): void {
    if (this.running !== undefined) return;
    if (this.worker === undefined) this.start();
    if (!this.ready) return;
    const next = this.takeNext();
    if (next !== undefined) this.dispatch(next, false);
  }

  /** The next job, merged with the jobs queued after it that can go in the same message. */
  private takeNext(): QueuedJob | undefined {
    const [first] = this.queue;
    if (first === undefined || first.alone === true) return this.queue.shift();
    const end = this.queue.findIndex((queued) => queued.alone === true || queued.job.mode !== first.job.mode);
    const jobs = this.queue.splice(0, Math.min(end < 0 ? this.queue.length : end, evaluationMessageJobsMax));
    return jobs.length === 1 ? first : mergeJobs(jobs);
  }

  private start(): void {
    this.progress = new EvaluationProgress();
    const worker = new Worker(this.entry, {
      workerData: { progress: this.progress.buffer },
      resourceLimits: { maxOldGenerationSizeMb: celEvaluationThreadHeapMaxMb },
    });
    worker.on('message', (reply: EvaluationReply | { ready: true }) => this.receive(worker, reply));
    let failure: Error | undefined;
    worker.on('error', (error) => {
      failure = error;
    });
    worker.on('exit', () => this.exited(worker, failure));
    // Idle until next() says otherwise; after the listeners, since adding a 'message' listener refs
    // the worker's port again.
    worker.unref();
    this.worker = worker;
    this.ready = false;
    this.sent.clear();
  }

  private dispatch(queued: QueuedJob, everyVersion: boolean): void {
    const worker = this.worker;
    assert(worker !== undefined && this.ready, 'a job is dispatched to a started thread');
    if (this.sent.size > celCompiledCacheSizeMax) this.sent.clear();
    // The thread said it lacks some: all of the job's versions go again.
    if (everyVersion) for (const rule of queued.rules) this.sent.delete(rule.history_id);
    const versions: RuleVersion[] = [];
    for (const rule of queued.rules) {
      if (this.sent.has(rule.history_id)) continue;
      this.sent.add(rule.history_id);
      versions.push(versionOf(rule));
    }
    const id = this.nextId;
    this.nextId += 1;
    this.running = { queued, id, timer: setTimeout(() => this.watch(), this.ruleLimitMs()) };
    worker.postMessage({ id, versions, ...queued.job });
  }

  private receive(worker: Worker, reply: EvaluationReply | { ready: true }): void {
    if (worker !== this.worker) return;
    if ('ready' in reply) {
      this.ready = true;
      this.next();
      return;
    }
    const running = this.running;
    if (running === undefined || running.id !== reply.id) return;
    clearTimeout(running.timer);
    this.running = undefined;
    if ('missing' in reply) {
      this.dispatch(running.queued, true);
      return;
    }
    const { queued } = running;
    // A merged job that failed runs again job by job, so that a failure is only its own job's.
    if ('error' in reply && queued.parts !== undefined)
      this.queue.unshift(...queued.parts.map((part) => Object.assign(part, { alone: true })));
    else if ('error' in reply) queued.reject(new Error(`rule evaluation failed: ${reply.error}`));
    else queued.resolve(reply.results);
    this.next();
  }

  /** A rule may run its event's ceiling plus the margin: past that, the thread is replaced. */
  private ruleLimitMs(): number {
    return celEventEvaluationTimeMaxMs + this.overrunMs;
  }

  /** Looks at the rule running now: its limit passed, or when to look again. */
  private watch(): void {
    const running = this.running;
    if (running === undefined) return;
    const startedAt = this.progress.ruleStartedAt;
    const elapsedMs = startedAt === 0 ? 0 : Date.now() - startedAt;
    if (elapsedMs < this.ruleLimitMs()) {
      running.timer = setTimeout(() => this.watch(), this.ruleLimitMs() - elapsedMs);
      return;
    }
    this.overran();
  }

  /** The hard limit passed, or the thread died: the rule it was on is not run again. */
  private overran(): void {
    const running = this.running;
    this.running = undefined;
    const worker = this.worker;
    this.worker = undefined;
    void worker?.terminate();
    if (running === undefined) {
      this.next();
      return;
    }
    clearTimeout(running.timer);
    const { job, rules } = running.queued;
    const { event, rule } = this.progress;
    const historyId = job.events[event]?.rules[rule]?.history_id;
    this.logger?.warn(
      {
        rule_id: rules.find((candidate) => candidate.history_id === historyId)?.id,
        rule_history_id: historyId,
      },
      'a rule held the evaluation thread past its hard limit: thread replaced, rule skipped',
    );
    // A merged job goes back as its parts (they hold the marked events), to be merged anew.
    if (markOverrun(job, event, rule)) this.queue.unshift(...(running.queued.parts ?? [running.queued]));
    else settleUnrun(running.queued);
    this.next();
  }

  /** Starts the thread now rather than for the first job, and reports overruns to `logger`. */
  startReporting(logger: Logger): void {
    this.logger = logger;
    this.next();
  }

  private exited(worker: Worker, failure: Error | undefined): void {
    if (worker !== this.worker) return;
    if (this.ready) {
      this.overran();
      return;
    }
    // It never started (a broken installation): fail what waits instead of restarting forever.
    this.worker = undefined;
    for (const queued of this.queue.splice(0))
      queued.reject(
        new Error(`the rule evaluation thread did not start: ${failure?.message ?? 'it exited'}`),
      );
  }
}

/**
 * Jobs of one mode as one: their events in order (the same objects, so that an overrun marked on the
 * merged job is marked on its part), each part resolved with its own events' results.
 */
function mergeJobs(parts: QueuedJob[]): QueuedJob {
  const [first] = parts as [QueuedJob];
  return {
    job: { mode: first.job.mode, events: parts.flatMap((part) => part.job.events) },
    rules: parts.flatMap((part) => part.rules),
    resolve(results) {
      let offset = 0;
      for (const part of parts) {
        part.resolve(results.slice(offset, offset + part.job.events.length));
        offset += part.job.events.length;
      }
    },
    reject(error) {
      for (const part of parts) part.reject(error);
    },
    parts,
  };
}

/**
 * Marks the rule the thread was on as overrun (every rule of the event when it was on none); false
 * when there was nothing left to mark, so that running the job again would prove nothing.
 */
function markOverrun(job: EvaluationJob, eventIndex: number, ruleIndex: number): boolean {
  const event = job.events[eventIndex];
  if (event === undefined) return false;
  const indexes = ruleIndex < 0 ? event.rules.map((_, index) => index) : [ruleIndex];
  const fresh = indexes.filter((index) => !event.overrun.includes(index));
  event.overrun.push(...fresh);
  return fresh.length > 0;
}

/**
 * A job that overran with nothing left to blame (the machine, not a rule, was slow): every rule ends
 * SKIPPED_TIMEOUT without running. No expression runs, so this is safe on the main thread.
 */
function settleUnrun(queued: QueuedJob): void {
  for (const event of queued.job.events) event.overrun = event.rules.map((_, index) => index);
  const progress = new EvaluationProgress();
  const versionNamed = (historyId: string) => {
    const rule = queued.rules.find((candidate) => candidate.history_id === historyId);
    assert(rule !== undefined, `rule version ${historyId} is known`);
    return versionOf(rule);
  };
  queued.resolve(runEvaluationJob(queued.job, versionNamed, progress));
}

let thread: EvaluationThread | undefined;

/** The process's evaluation thread, started on first use. */
function evaluationThread(): EvaluationThread {
  thread ??= new EvaluationThread(celEvaluationOverrunMs);
  return thread;
}

/** Starts the process's evaluation thread, whose overruns go to `logger` as warnings. */
export function startRuleEvaluation(logger: Logger): void {
  evaluationThread().startReporting(logger);
}

/**
 * `evaluateRules` in the evaluation thread: the program's rules against one event, in order. The
 * HTTP event loop only sends and receives; it never runs an expression.
 */
export async function evaluateRulesIsolated(
  rules: EvaluableRule[],
  input: EvaluationInput,
): Promise<RuleEvaluation[]> {
  const [evaluations] = evaluateEventsIsolated(rules, [input]);
  assert(evaluations !== undefined, 'one event in, one evaluation list out');
  return countEvaluationProblems(await evaluations);
}

/**
 * The program's rules against several events, each on its own (one job each, so that a failure is
 * its own event's), sent together: one message when the thread is idle. Problems are not counted
 * here: an evaluation sent ahead may go unused (countEvaluationProblems when it is used).
 */
export function evaluateEventsIsolated(
  rules: EvaluableRule[],
  inputs: EvaluationInput[],
): Promise<RuleEvaluation[]>[] {
  if (rules.length === 0) return inputs.map(() => Promise.resolve([]));
  const jobs = inputs.map((input): EvaluationJob => ({ mode: 'event', events: [toEvent(rules, input)] }));
  return evaluationThread()
    .runAll(jobs, rules)
    .map(async (results) => {
      const [evaluations] = await results;
      assert(evaluations !== undefined, 'one event in, one evaluation list out');
      return evaluations;
    });
}

/** One rule against an event on its own (simulate), in the evaluation thread. */
export async function evaluateRuleIsolated(
  rule: EvaluableRule,
  input: EvaluationInput,
): Promise<RuleEvaluation> {
  const [evaluations] = await evaluationThread().run({ mode: 'each', events: [toEvent([rule], input)] }, [
    rule,
  ]);
  const evaluation = evaluations?.[0];
  assert(evaluation !== undefined, 'one rule in, one evaluation out');
  return evaluation;
}

function toEvent(rules: EvaluableRule[], input: EvaluationInput): EvaluationJob['events'][number] {
  return {
    rules: rules.map((rule) => ({ history_id: rule.history_id, budgets: rule.budgets })),
    input,
    overrun: [],
  };
}

/** Counts the evaluations' errors and timeouts in the metrics; answers them. */
export function countEvaluationProblems(evaluations: RuleEvaluation[]): RuleEvaluation[] {
  for (const evaluation of evaluations) {
    if (evaluation.status === 'SKIPPED_ERROR') ruleEvaluationProblems.inc({ kind: 'error' });
    if (evaluation.status === 'SKIPPED_TIMEOUT') ruleEvaluationProblems.inc({ kind: 'timeout' });
  }
  return evaluations;
}
