// Progress of a long command (ledger verify, migrations, the benchmark) on a terminal: one line,
// rewritten in place at most every `progressRedrawMs`, and cleared at the end. When the stream is
// not a terminal (piped, redirected, CI) nothing is written, so logs and parsed output stay clean.
import { progressRedrawMs } from './limits.js';

export interface Progress {
  /** `done` of `total` steps, with what is being done now. */
  update(done: number, total: number, detail?: string): void;
  /** Clears the line; the command's own output follows. */
  finish(): void;
}

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

const silent: Progress = { update() {}, finish() {} };

export function createProgress(label: string, stream: ProgressStream = process.stderr): Progress {
  if (stream.isTTY !== true) return silent;
  let drawnAt = 0;
  let drawn = false;
  return {
    update(done, total, detail) {
      const now = Date.now();
      if (done < total && now - drawnAt < progressRedrawMs) return;
      drawnAt = now;
      const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
      const line = `${label}: ${done}/${total} (${percent}%)${detail === undefined ? '' : ` ${detail}`}`;
      // A pseudo-terminal may report 0 columns: then assume the usual 80.
      const width = stream.columns !== undefined && stream.columns > 0 ? stream.columns : 80;
      stream.write(`\r\x1b[2K${line.slice(0, width - 1)}`);
      drawn = true;
    },
    finish() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
