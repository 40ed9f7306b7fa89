// The evaluation thread (started by evaluation-thread.ts): keeps the rule versions it was sent, by
// rule_history_id, and answers each request with its evaluations; a request naming a version it no
// longer holds is answered with the ids it misses, and sent again with them.
import { parentPort, workerData } from 'node:worker_threads';
import { assert } from '../../platform/assert.js';
import { celCompiledCacheSizeMax } from '../../platform/limits.js';
import type { RuleVersion } from './compile-rule.js';
import {
  EvaluationProgress,
  type EvaluationReply,
  type EvaluationRequest,
  runEvaluationJob,
} from './evaluation-job.js';

const port = parentPort;
assert(port !== null, 'evaluation-worker.ts runs as a worker thread');
const progress = new EvaluationProgress(workerData.progress as SharedArrayBuffer);
const versions = new Map<string, RuleVersion>();

port.on('message', (request: EvaluationRequest) => port.postMessage(answer(request)));
port.postMessage({ ready: true });

function answer(request: EvaluationRequest): EvaluationReply {
  for (const version of request.versions) remember(version);
  const missing = request.events.flatMap((event) =>
    event.rules.filter((call) => !versions.has(call.history_id)).map((call) => call.history_id),
  );
  if (missing.length > 0) return { id: request.id, missing };
  try {
    return { id: request.id, results: runEvaluationJob(request, versionNamed, progress) };
  } catch (error) {
    return { id: request.id, error: error instanceof Error ? error.message : String(error) };
  }
}

function remember(version: RuleVersion): void {
  if (versions.size >= celCompiledCacheSizeMax && !versions.has(version.history_id)) {
    const oldest = versions.keys().next();
    if (oldest.done !== true) versions.delete(oldest.value);
  }
  versions.set(version.history_id, version);
}

function versionNamed(historyId: string): RuleVersion {
  const version = versions.get(historyId);
  assert(version !== undefined, `rule version ${historyId} was sent`);
  return version;
}
