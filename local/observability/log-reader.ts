// Follows the *.log files of one directory the way a log shipper does: each poll reads only what was
// appended since the last one, so --watch stays cheap on large logs. Files are followed by inode, across
// the runner's rotation (<name>.log renamed to <name>.log.1, .2 …, see local/log-rotation.ts): a line is
// read once whether it was read before or after its file was renamed.
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { parseLogRecord, type LogRecord } from './aggregate';

const CHUNK = 4 * 1024 * 1024;
const NEWLINE = 0x0a;
/** <name>.log and its rotated files <name>.log.1, <name>.log.2 … */
const LOG_FILE = /^(.+\.log)(?:\.(\d+))?$/;
/** A file not seen for this many polls is forgotten (its records are kept). */
const FORGET_AFTER_POLLS = 3;

interface FileState {
  ino: number;
  birth: number;
  /** <name>.log of the file, and how many times it has been rotated: 0 for <name>.log itself */
  base: string;
  generation: number;
  offset: number;
  /** bytes after the last newline: a line still being written */
  partial: Buffer;
  records: LogRecord[];
  lastSeenPoll: number;
}

export interface PollResult {
  files: number;
  /** JSON lines read in this poll */
  added: number;
  /** other lines read in this poll (plain text, blank, broken JSON): what the shippers drop */
  dropped: number;
}

interface LogName {
  name: string;
  base: string;
  generation: number;
}

function logNames(entries: string[]): LogName[] {
  const names: LogName[] = [];
  for (const name of entries) {
    const match = LOG_FILE.exec(name);
    if (match) names.push({ name, base: match[1], generation: match[2] === undefined ? 0 : Number(match[2]) });
  }
  // Oldest first: a file renamed during the poll is then met again under its newer name, not missed.
  return names.sort((a, b) => a.base.localeCompare(b.base) || b.generation - a.generation);
}

export class LogDirectory {
  private readonly files = new Map<number, FileState>();
  private retired: LogRecord[] = [];
  private polls = 0;

  constructor(readonly dir: string) {}

  /** Every record read so far, from every file. */
  *records(): Iterable<LogRecord> {
    yield* this.retired;
    for (const state of this.files.values()) yield* state.records;
  }

  /** Forgets records older than `before` (epoch ms): a --watch window only moves forward. */
  prune(before: number) {
    const keep = (list: LogRecord[]) => (list.some((o) => o.at < before) ? list.filter((o) => o.at >= before) : list);
    this.retired = keep(this.retired);
    for (const state of this.files.values()) state.records = keep(state.records);
  }

  /** Reads what was appended to each log file. Throws ENOENT when the directory does not exist. */
  async poll(): Promise<PollResult> {
    const names = logNames(await readdir(this.dir));
    const result: PollResult = { files: 0, added: 0, dropped: 0 };
    this.polls += 1;
    for (const name of names) {
      if (await this.follow(name, result)) result.files += 1;
    }
    for (const [ino, state] of this.files) {
      if (this.polls - state.lastSeenPoll < FORGET_AFTER_POLLS) continue;
      this.retired.push(...state.records);
      this.files.delete(ino);
    }
    return result;
  }

  /** Reads one file from where it was left (by inode); false when it is gone or not a file. */
  private async follow({ name, base, generation }: LogName, result: PollResult): Promise<boolean> {
    let handle;
    try {
      handle = await open(join(this.dir, name), 'r');
    } catch {
      return false; // removed or renamed between readdir and open: met again under its new name
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) return false;
      const state = this.stateOf(info.ino, info.birthtimeMs, base, generation, info.size);
      state.lastSeenPoll = this.polls;
      if (info.size > state.offset) await this.readAppended(handle, state, info.size, result);
      return true;
    } finally {
      await handle.close();
    }
  }

  /**
   * The state of a file, or a new one when it was never seen. A known inode under a lower rotation number, or
   * shorter than what was read, is another file (an inode reused after the oldest file was dropped, a truncation).
   */
  private stateOf(ino: number, birth: number, base: string, generation: number, size: number): FileState {
    const known = this.files.get(ino);
    const same = known && known.base === base && known.generation <= generation && known.birth === birth && size >= known.offset;
    if (known && same) {
      known.generation = generation;
      return known;
    }
    // A truncated file starts over; when another file took the inode, what was read from the old one stays counted.
    const truncated = known && known.base === base && known.generation === generation && known.birth === birth;
    if (known && !truncated) this.retired.push(...known.records);
    const state: FileState = { ino, birth, base, generation, offset: 0, partial: Buffer.alloc(0), records: [], lastSeenPoll: this.polls };
    this.files.set(ino, state);
    return state;
  }

  private async readAppended(handle: FileHandle, state: FileState, size: number, result: PollResult) {
    while (state.offset < size) {
      const buffer = Buffer.alloc(Math.min(CHUNK, size - state.offset));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, state.offset);
      if (bytesRead === 0) break;
      state.offset += bytesRead;
      const data = Buffer.concat([state.partial, buffer.subarray(0, bytesRead)]);
      let start = 0;
      for (let end = data.indexOf(NEWLINE); end !== -1; end = data.indexOf(NEWLINE, start)) {
        const record = parseLogRecord(data.toString('utf8', start, end));
        if (record) {
          state.records.push(record);
          result.added += 1;
        } else {
          result.dropped += 1;
        }
        start = end + 1;
      }
      state.partial = Buffer.from(data.subarray(start));
    }
    // A last line without its newline counts once it is a whole JSON object (the writer may never add one).
    const tail = state.partial.length ? parseLogRecord(state.partial.toString('utf8')) : undefined;
    if (tail) {
      state.records.push(tail);
      result.added += 1;
      state.partial = Buffer.alloc(0);
    }
  }
}
