// Size-based rotation of local/logs/*.log, done by the runner's own writer (no logrotate, no copytruncate):
// when <name>.log reaches LOG_MAX_BYTES it is renamed to <name>.log.1 (older ones shift to .2 … and the one
// past LOG_FILES_KEPT is dropped) and a new <name>.log is started. Rotation happens only between lines, so a
// reader that follows files by inode (Promtail, Alloy, npm run dashboard) sees every line exactly once.
import { closeSync, existsSync, fstatSync, openSync, renameSync, writeSync } from 'node:fs';

export interface RotationSettings {
  /** a file is rotated once it holds at least this many bytes */
  maxBytes: number;
  /** rotated files kept beside the current one (<name>.log.1 … <name>.log.N) */
  filesKept: number;
}

export const DEFAULT_ROTATION: RotationSettings = { maxBytes: 50 * 1024 * 1024, filesKept: 3 };

function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${name} must be an integer of at least ${min}, got "${raw}"`);
  return value;
}

/** LOG_MAX_BYTES (default 50 MiB) and LOG_FILES_KEPT (default 3), validated. */
export function rotationSettings(env: NodeJS.ProcessEnv = process.env): RotationSettings {
  return {
    maxBytes: positiveInteger(env, 'LOG_MAX_BYTES', DEFAULT_ROTATION.maxBytes, 1024),
    filesKept: positiveInteger(env, 'LOG_FILES_KEPT', DEFAULT_ROTATION.filesKept, 1),
  };
}

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
    readonly settings: RotationSettings = rotationSettings(),
  ) {
    this.fd = openSync(path, 'a');
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
    this.fd = openSync(this.path, 'a');
    this.size = 0;
  }
}
