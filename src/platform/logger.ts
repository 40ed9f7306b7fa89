// Structured JSON logs. Secrets never reach a log line: key headers are redacted wherever they appear.
import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogLevel } from '../config.js';

export type { Logger };

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'accrue' },
      redact: {
        paths: ['req.headers.authorization', 'req.headers["x-api-key"]', '*.apiKey', '*.secret'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
