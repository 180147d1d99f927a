// How the runner takes a busy child's log (HAProxy's access lines, one write each) without waking up for every line:
// through a real pipe, read in batches. HAProxy never blocks on its log: a line it cannot write at once is dropped (its
// DroppedLogs). The socket pair Node makes for a child's stdout holds only a few dozen such small writes, so even a
// reader that takes them as they come loses some under load on two cores; a pipe holds 64 KiB (some 200 lines), which
// leaves room to read them a few dozen at a time.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, rmSync } from 'node:fs';
import { Socket, type ConnectOpts, type SocketConstructorOpts } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** Lines left to gather between two reads: a fraction of what the pipe holds, for bursts above the rate just seen. */
const LINES_PER_READ = 50;
/** The longest wait between two reads, so a line is in its file within this long (ms). */
const MAX_WAIT_MS = 50;
/** What a pipe holds on Linux (F_GETPIPE_SZ): one read of this size empties it. */
const PIPE_BYTES = 64 * 1024;

export interface LogPipe {
  /** The write end, for the child's stdio (close it here once the child has it). */
  writeFd: number;
  /** Reads the pipe in batches (readInBatches) until every writer has closed it, then calls `done`. */
  read(onChunk: (chunk: Buffer) => void, done: () => void): void;
}

/** A pipe (a FIFO made and unlinked at once in `dir`, mode 600), so its only trace is the two descriptors. */
export function logPipe(dir: string, name: string): LogPipe {
  const path = join(dir, `.${name}.${process.pid}.pipe`);
  rmSync(path, { force: true });
  execFileSync('mkfifo', ['-m', '600', path]);
  try {
    // Opened for reading first, without waiting for a writer; then the write end opens at once.
    const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const writeFd = openSync(path, constants.O_WRONLY);
    return { writeFd, read: (onChunk, done) => readInBatches(readFd, onChunk, done) };
  } finally {
    rmSync(path, { force: true });
  }
}

/** Closes the runner's copy of the write end (after spawn), so the reader ends when the child does. */
export const closeWriteEnd = (pipe: LogPipe) => closeSync(pipe.writeFd);

const countLines = (chunk: Buffer, length: number) => {
  let lines = 0;
  for (let at = chunk.indexOf(0x0a); at !== -1 && at < length; at = chunk.indexOf(0x0a, at + 1)) lines++;
  return lines;
};

/**
 * Reads all the pipe holds (one read: the buffer is as large as the pipe), then leaves it unpolled for as long as
 * LINES_PER_READ lines take to arrive at the rate of that read (at most MAX_WAIT_MS): at a thousand lines a second,
 * twenty reads, not a thousand. (A paused socket stops reading only when it reads into its own buffer, `onread`.)
 */
function readInBatches(fd: number, onChunk: (chunk: Buffer) => void, done: () => void): void {
  let lastRead = performance.now();
  const buffer = Buffer.alloc(PIPE_BYTES);
  // Node reads into `onread` for a socket made from an fd too; its types name the option for connect() only.
  const options: SocketConstructorOpts & ConnectOpts = {
    fd,
    readable: true,
    writable: false,
    onread: {
      buffer,
      callback(bytes) {
        onChunk(Buffer.from(buffer.subarray(0, bytes)));
        const now = performance.now();
        const linesPerMs = countLines(buffer, bytes) / Math.max(now - lastRead, 1);
        lastRead = now;
        const wait = Math.min(MAX_WAIT_MS, LINES_PER_READ / Math.max(linesPerMs, 1e-6));
        // A read that found the pipe half full reads again at once: the writer is near its limit.
        if (wait < 1 || bytes >= PIPE_BYTES / 2) return true;
        setTimeout(() => reader.resume(), wait).unref();
        return false;
      },
    },
  };
  const reader = new Socket(options);
  reader.on('close', done).on('error', () => undefined);
}
