// The `files` routing mode (HAProxy's access log): the child's stdout is a pipe the runner reads in batches
// (local/log-pipe.ts). A writer that never blocks, as HAProxy's logger, drops a line whenever the pipe is full; these
// tests write that way, in bursts above HAProxy's rate on the stack, and count what arrives.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess } from '../../local/processes';
import { ROOT } from '../support/child';

/** A child writing `bursts` bursts of `perBurst` lines every `everyMs` through a non-blocking descriptor on its stdout. */
const writer = (bursts: number, perBurst: number, everyMs: number) => `
  const fs = require('node:fs');
  const fd = fs.openSync('/proc/self/fd/1', fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  let written = 0, dropped = 0, burst = 0;
  const tick = () => {
    for (let i = 0; i < ${perBurst}; i++) {
      const line = JSON.stringify({ n: written + dropped, pad: 'x'.repeat(220) }) + '\\n';
      try { fs.writeSync(fd, line); written++; } catch (error) { if (error.code !== 'EAGAIN') throw error; dropped++; }
    }
    if (++burst < ${bursts}) setTimeout(tick, ${everyMs});
    else process.stderr.write(JSON.stringify({ written, dropped }));
  };
  tick();`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'log-pipe-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function run(name: string, script: string) {
  const proc = new ManagedProcess(name, process.execPath, ['-e', script], { cwd: ROOT, env: process.env, logDir: dir, logs: 'files' });
  const exit = await proc.exited;
  await new Promise((resolve) => setTimeout(resolve, 100)); // the reader's last batch after the exit
  const logged = readFileSync(join(dir, `${name}.log`), 'utf8')
    .split('\n')
    .filter(Boolean);
  const counts = JSON.parse(readFileSync(join(dir, `${name}.stderr.log`), 'utf8')) as { written: number; dropped: number };
  return { exit, logged, counts };
}

describe("the runner's log pipe", () => {
  test('a non-blocking writer of 250-byte lines loses none at 3,000 a second (the stack peaks near 2,000)', async () => {
    const { exit, logged, counts } = await run('burst', writer(200, 30, 10));
    expect(exit.code).toBe(0);
    expect(counts).toEqual({ written: 6_000, dropped: 0 });
    expect(logged.map((line) => JSON.parse(line).n)).toEqual(Array.from({ length: 6_000 }, (_, n) => n));
  });

  test('a trickle reaches the file while the child runs, and the pipe leaves nothing in the log folder', async () => {
    // 40 lines, one every 25 ms: about a second of writing, far longer than the reader's longest wait (50 ms).
    const proc = new ManagedProcess('trickle', process.execPath, ['-e', writer(40, 1, 25)], { cwd: ROOT, env: process.env, logDir: dir, logs: 'files' });
    const lines = () => readFileSync(join(dir, 'trickle.log'), 'utf8').split('\n').filter(Boolean).length;
    // Lines written so far are in the file before the child ends: they are not held back until its exit.
    let seenWhileRunning = 0;
    while (proc.running && seenWhileRunning < 3) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (proc.running) seenWhileRunning = lines();
    }
    expect(seenWhileRunning).toBeGreaterThanOrEqual(3);
    expect(readdirSync(dir).sort()).toEqual(['trickle.log', 'trickle.stderr.log']);
    await proc.exited;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lines()).toBe(40);
  });
});
