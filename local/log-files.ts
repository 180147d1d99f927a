// The local runner's log files, rotated by size by their one writer (the runner, or an instance writing its own JSON
// lines: local/services/instance-logs.ts), no logrotate, no copytruncate: when <name>.log reaches LOG_MAX_BYTES it is
// renamed to <name>.log.1 (older ones shift to .2 … and the one past LOG_FILES_KEPT is dropped) and a new <name>.log
// is started. Rotation happens only between lines, so a reader that follows files by inode (Promtail, Alloy,
// npm run dashboard) sees every line exactly once.
import { closeSync, existsSync, fchmodSync, fstatSync, openSync, readSync, renameSync, writeSync } from 'node:fs';

export interface RotationSettings {
  /** a file is rotated once it holds at least this many bytes */
  maxBytes: number;
  /** rotated files kept beside the current one (<name>.log.1 … <name>.log.N) */
  filesKept: number;
}

/** Log files hold usernames and request details: readable and writable by the runner's user only. */
export const LOG_FILE_MODE = 0o600;

/** The name of the n-th rotated file of a log (n ≥ 1; 1 is the most recent). */
export const rotatedName = (path: string, n: number) => `${path}.${n}`;

const NEWLINE = 0x0a;

/** An append-only log file that rotates itself by size. Writes are batched per event-loop turn. */
export class RotatingLogFile {
  private fd: number;
  private size: number;
  private atLineStart = true;
  private pending: Buffer[] = [];
  private scheduled = false;
  private closed = false;

  constructor(
    readonly path: string,
    readonly settings: RotationSettings,
  ) {
    this.fd = openSync(path, 'a', LOG_FILE_MODE);
    fchmodSync(this.fd, LOG_FILE_MODE); // a file left by an earlier run keeps its mode otherwise
    this.size = fstatSync(this.fd).size;
  }

  write(data: string | Buffer): boolean {
    if (this.closed) return false;
    this.pending.push(typeof data === 'string' ? Buffer.from(data) : data);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  /** Writes out what is pending now (normally done once per event-loop turn). */
  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0 || this.closed) return;
    const data = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    let start = 0;
    while (start < data.length) {
      if (this.size >= this.settings.maxBytes && this.atLineStart) this.rotate();
      let end = data.length;
      const room = this.settings.maxBytes - this.size;
      // Past the limit the file ends after the line that crosses it; a line is never split across files.
      if (end - start > room) {
        const newline = data.indexOf(NEWLINE, start + Math.max(0, room - 1));
        if (newline !== -1) end = newline + 1;
      }
      this.writeAll(data.subarray(start, end));
      this.atLineStart = data[end - 1] === NEWLINE;
      start = end;
    }
  }

  end(): void {
    this.flush();
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  private writeAll(chunk: Buffer) {
    for (let offset = 0; offset < chunk.length;) offset += writeSync(this.fd, chunk, offset, chunk.length - offset);
    this.size += chunk.length;
  }

  private rotate() {
    closeSync(this.fd);
    // rename() replaces its target, so the oldest file (.N) is overwritten by .N-1 and thereby dropped.
    for (let n = this.settings.filesKept - 1; n >= 1; n--) {
      if (existsSync(rotatedName(this.path, n))) renameSync(rotatedName(this.path, n), rotatedName(this.path, n + 1));
    }
    renameSync(this.path, rotatedName(this.path, 1));
    this.fd = openSync(this.path, 'a', LOG_FILE_MODE);
    this.size = 0;
  }
}

const TAIL_BYTES = 64 * 1024;

/** The last trouble a log holds: its last JSON line at level WARN or above, else the last line of its stderr file. */
export function lastErrorLine(logFile: string, errorLogFile?: string): string | undefined {
  const tail = (file: string) => {
    if (!existsSync(file)) return [];
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const buffer = Buffer.alloc(Math.min(size, TAIL_BYTES));
      readSync(fd, buffer, 0, buffer.length, size - buffer.length);
      return buffer.toString('utf8').split('\n').filter(Boolean);
    } finally {
      closeSync(fd);
    }
  };
  const error = tail(logFile)
    .reverse()
    .find((line) => /^\{.*"level":"(WARN|ERROR|CRITICAL)"/.test(line));
  return error ?? (errorLogFile ? tail(errorLogFile).pop() : undefined);
}
