// For evaluation-thread.test.ts: the real evaluation thread, except that a rule whose history id
// starts with "hang" holds the thread forever (as a CEL call the meter misjudged would), after
// reporting its progress as the real thread does. Once marked overrun, it is left to the real thread.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { EvaluationProgress } = await import('./evaluation-job.ts');
const progress = new EvaluationProgress(workerData.progress);
parentPort?.on('message', (request) => {
  for (const [eventIndex, event] of request.events.entries()) {
    for (const [ruleIndex, call] of event.rules.entries()) {
      if (!call.history_id.startsWith('hang') || event.overrun.includes(ruleIndex)) continue;
      progress.at(eventIndex, ruleIndex, true);
      for (;;);
    }
  }
});
await import('./evaluation-worker.ts');
