import { describe, expect, it } from 'vitest';
import { createProgress } from './progress.js';

function stream(isTTY: boolean) {
  const written: string[] = [];
  return { isTTY, columns: 80, written, write: (text: string) => written.push(text) > 0 };
}

describe('createProgress', () => {
  it('draws one line in place on a terminal, the last step always, and clears it at the end', () => {
    const terminal = stream(true);
    const progress = createProgress('verifying', terminal);
    progress.update(0, 3);
    progress.update(1, 3);
    progress.update(3, 3, 'done');
    progress.finish();
    expect(terminal.written[0]).toBe('\r\x1b[2Kverifying: 0/3 (0%)');
    // The step in between came within the redraw interval and was skipped; the last is never skipped.
    expect(terminal.written).toEqual([
      '\r\x1b[2Kverifying: 0/3 (0%)',
      '\r\x1b[2Kverifying: 3/3 (100%) done',
      '\r\x1b[2K',
    ]);
  });

  it('writes nothing when the output is piped or redirected', () => {
    const piped = stream(false);
    const progress = createProgress('verifying', piped);
    progress.update(0, 3);
    progress.update(3, 3);
    progress.finish();
    expect(piped.written).toEqual([]);
  });
});
