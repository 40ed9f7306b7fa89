// Entry of the evaluation thread: worker threads do not inherit tsx's loader, so it is registered
// here before the TypeScript module loads.
import { register } from 'tsx/esm/api';

register();
await import('./evaluation-worker.ts');
