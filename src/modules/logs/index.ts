// Request logs and API usage (spec 2.13). Invariants: only authenticated requests are logged, each
// under its own organization; bodies are stored redacted of secret-looking keys and truncated to
// 4 KiB; API keys never reach a log row (they travel in headers, which are not stored).
export { logRoutes, logSchemas, registerRequestLogging } from './logs.routes.js';
export { RequestLogRecorder } from './logs.service.js';
