// Programmer errors are bugs: they stop the current operation with a 500 (or a FAILED event) and a
// full log line. Expected failures are DomainErrors instead.

export class AssertionError extends Error {
  constructor(message: string) {
    super(`assertion failed: ${message}`);
    this.name = 'AssertionError';
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
