// Follows the *.log files of one directory the way a log shipper does: each poll reads only what was
// appended since the last one (starting over when a file was truncated or replaced), so --watch stays
// cheap on large logs.
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { observe, type Observation } from './aggregate';

const CHUNK = 4 * 1024 * 1024;
const NEWLINE = 0x0a;

interface FileState {
  ino: number;
  offset: number;
  /** bytes after the last newline: a line still being written */
  partial: Buffer;
  observations: Observation[];
}

export interface PollResult {
  files: number;
  /** JSON lines read in this poll */
  added: number;
  /** other lines read in this poll (plain text, blank, broken JSON): what the shippers drop */
  dropped: number;
}

export class LogDirectory {
  private readonly files = new Map<string, FileState>();

  constructor(readonly dir: string) {}

  /** Every observation read so far, from every file. */
  *observations(): Iterable<Observation> {
    for (const state of this.files.values()) yield* state.observations;
  }

  /** Forgets observations older than `before` (epoch ms): a --watch window only moves forward. */
  prune(before: number) {
    for (const state of this.files.values()) {
      if (state.observations.some((o) => o.at < before)) state.observations = state.observations.filter((o) => o.at >= before);
    }
  }

  /** Reads what was appended to each *.log file. Throws ENOENT when the directory does not exist. */
  async poll(): Promise<PollResult> {
    const names = (await readdir(this.dir)).filter((name) => name.endsWith('.log')).sort();
    const result: PollResult = { files: names.length, added: 0, dropped: 0 };
    for (const name of names) {
      const path = join(this.dir, name);
      let info;
      try {
        info = await stat(path);
      } catch {
        continue; // removed between readdir and stat
      }
      if (!info.isFile()) continue;
      let state = this.files.get(path);
      if (!state || state.ino !== info.ino || info.size < state.offset) {
        state = { ino: info.ino, offset: 0, partial: Buffer.alloc(0), observations: [] };
        this.files.set(path, state);
      }
      if (info.size > state.offset) await this.readAppended(path, state, info.size, result);
    }
    for (const path of [...this.files.keys()]) {
      if (!names.some((name) => join(this.dir, name) === path)) this.files.delete(path);
    }
    return result;
  }

  private async readAppended(path: string, state: FileState, size: number, result: PollResult) {
    const handle = await open(path, 'r');
    try {
      while (state.offset < size) {
        const buffer = Buffer.alloc(Math.min(CHUNK, size - state.offset));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, state.offset);
        if (bytesRead === 0) break;
        state.offset += bytesRead;
        const data = Buffer.concat([state.partial, buffer.subarray(0, bytesRead)]);
        let start = 0;
        for (let end = data.indexOf(NEWLINE); end !== -1; end = data.indexOf(NEWLINE, start)) {
          const observation = observe(data.toString('utf8', start, end));
          if (observation) {
            state.observations.push(observation);
            result.added += 1;
          } else {
            result.dropped += 1;
          }
          start = end + 1;
        }
        state.partial = Buffer.from(data.subarray(start));
      }
      // A last line without its newline counts once it is a whole JSON object (the writer may never add one).
      const tail = state.partial.length ? observe(state.partial.toString('utf8')) : undefined;
      if (tail) {
        state.observations.push(tail);
        result.added += 1;
        state.partial = Buffer.alloc(0);
      }
    } finally {
      await handle.close();
    }
  }
}
