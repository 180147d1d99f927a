// Size-based rotation of local/logs (local/log-rotation.ts) and the dashboard following rotated files:
// with a small LOG_MAX_BYTES, N lines written across many rotations are counted exactly N times.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { EVENTS } from '../../layers/events';
import { RotatingLogFile } from '../../local/log-files';
import { rotationSettings } from '../../local/settings';
import { summarize } from '../../local/observability/aggregate';
import { LogDirectory } from '../../local/observability/log-reader';
import { ManagedProcess } from '../../local/processes';
import { ROOT, TSX } from '../support/child';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** One auth.login_succeeded line, like the backend writes; `i` makes each line distinct. */
const loginLine = (i: number, at = new Date()) =>
  JSON.stringify({
    level: 'INFO',
    message: EVENTS.loginSucceeded.name,
    timestamp: at.toISOString(),
    service: 'app-backend',
    request_id: `r-${i}`,
    event: EVENTS.loginSucceeded.name,
    username: `user_${i % 7}`,
  });

const linesOf = (dir: string) =>
  readdirSync(dir)
    .filter((name) => /\.log(\.\d+)?$/.test(name))
    .flatMap((name) => readFileSync(join(dir, name), 'utf8').split('\n').filter(Boolean));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'log-rotation-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the rotating log writer', () => {
  test('rotates <name>.log to .1, .2, .3 by size, keeps LOG_FILES_KEPT of them and never splits a line', async () => {
    const file = new RotatingLogFile(join(dir, 'haproxy.log'), { maxBytes: 2048, filesKept: 3 });
    const written = Array.from({ length: 200 }, (_, i) => loginLine(i));
    for (const [i, line] of written.entries()) {
      file.write(`${line}\n`);
      if (i % 9 === 0) await turn();
    }
    file.end();
    expect(readdirSync(dir).sort()).toEqual(['haproxy.log', 'haproxy.log.1', 'haproxy.log.2', 'haproxy.log.3']);
    const longest = Math.max(...written.map((l) => l.length + 1));
    for (const name of readdirSync(dir)) expect(statSync(join(dir, name)).size).toBeLessThanOrEqual(2048 + longest);
    // Oldest first, the kept files hold the last lines written, whole and in order.
    const kept = ['haproxy.log.3', 'haproxy.log.2', 'haproxy.log.1', 'haproxy.log'].flatMap((n) =>
      readFileSync(join(dir, n), 'utf8').split('\n').filter(Boolean),
    );
    expect(kept).toEqual(written.slice(written.length - kept.length));
    expect(kept.length).toBeGreaterThan(40);
  });

  test('rotates a chunk stream (HAProxy output, not split into lines) only between lines', async () => {
    const file = new RotatingLogFile(join(dir, 'raw.log'), { maxBytes: 1024, filesKept: 50 });
    const text = Array.from({ length: 120 }, (_, i) => `${loginLine(i)}\n`).join('');
    for (let at = 0; at < text.length; at += 333) {
      file.write(text.slice(at, at + 333));
      await turn();
    }
    file.end();
    expect(readdirSync(dir).length).toBeGreaterThan(5);
    for (const name of readdirSync(dir)) {
      const content = readFileSync(join(dir, name), 'utf8');
      expect(content.endsWith('\n')).toBe(true);
      for (const line of content.split('\n').filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
    }
    expect(linesOf(dir)).toHaveLength(120);
  });

  test('reads LOG_MAX_BYTES and LOG_FILES_KEPT, with defaults, and refuses nonsense', () => {
    expect(rotationSettings({})).toEqual({ maxBytes: 50 * 1024 * 1024, filesKept: 3 });
    expect(rotationSettings({ LOG_MAX_BYTES: '4096', LOG_FILES_KEPT: '5' })).toEqual({ maxBytes: 4096, filesKept: 5 });
    expect(() => rotationSettings({ LOG_MAX_BYTES: '10MB' })).toThrow(/LOG_MAX_BYTES/);
    expect(() => rotationSettings({ LOG_FILES_KEPT: '0' })).toThrow(/LOG_FILES_KEPT/);
  });

  test("the local runner's processes write through it: a child's output is rotated in every routing mode", async () => {
    const previous = { max: process.env.LOG_MAX_BYTES, kept: process.env.LOG_FILES_KEPT };
    process.env.LOG_MAX_BYTES = '4096';
    process.env.LOG_FILES_KEPT = '100';
    try {
      const script = `for (let i = 0; i < 300; i++) console.log(JSON.stringify({ service: 'x', i, pad: 'y'.repeat(60) }));`;
      for (const logs of ['json', 'files', 'plain'] as const) {
        const proc = new ManagedProcess(`child-${logs}`, process.execPath, ['-e', script], { cwd: ROOT, env: process.env, logDir: dir, logs });
        await proc.exited;
        await sleep(50); // the pipes drain after the exit
        const own = readdirSync(dir).filter((n) => n.startsWith(`child-${logs}.log`));
        expect({ logs, rotated: own.length > 3 }).toEqual({ logs, rotated: true });
        const lines = own.flatMap((n) => readFileSync(join(dir, n), 'utf8').split('\n').filter(Boolean));
        expect(lines.map((l) => JSON.parse(l).i).sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i));
      }
    } finally {
      process.env.LOG_MAX_BYTES = previous.max;
      process.env.LOG_FILES_KEPT = previous.kept;
      if (previous.max === undefined) delete process.env.LOG_MAX_BYTES;
      if (previous.kept === undefined) delete process.env.LOG_FILES_KEPT;
    }
  });
});

describe('the dashboard follows rotated files', () => {
  const window = () => ({ from: Date.now() - 3_600_000, to: Date.now() + 60_000 });

  test('polled while N lines are written across many rotations, it counts exactly N', async () => {
    const n = 1000;
    const file = new RotatingLogFile(join(dir, 'app-backend.log'), { maxBytes: 4096, filesKept: 2 });
    const directory = new LogDirectory(dir);
    for (let i = 0; i < n; i++) {
      file.write(`${loginLine(i)}\n`);
      if (i % 5 === 0) await turn();
      if (i % 11 === 0) await directory.poll(); // polls land before, between and after rotations
    }
    file.end();
    await directory.poll();
    expect(readdirSync(dir).sort()).toEqual(['app-backend.log', 'app-backend.log.1', 'app-backend.log.2']);
    expect(summarize(directory.records(), window()).totals.logins).toBe(n);
    expect(linesOf(dir).length).toBeLessThan(n); // the oldest files are gone, yet every line was counted once
    await directory.poll();
    expect(summarize(directory.records(), window()).totals.logins).toBe(n);
  });

  test('one-shot mode counts the current and the rotated files once each', async () => {
    const file = new RotatingLogFile(join(dir, 'app-backend.log'), { maxBytes: 2048, filesKept: 100 });
    for (let i = 0; i < 300; i++) file.write(`${loginLine(i)}\n`);
    file.end();
    expect(existsSync(join(dir, 'app-backend.log.5'))).toBe(true);
    const run = spawn(TSX, [join(ROOT, 'local', 'bin', 'dashboard.ts'), '--logs', dir, '--since', '1h'], { cwd: ROOT });
    let out = '';
    run.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const [code] = await once(run, 'exit');
    expect(code).toBe(0);
    expect(out).toContain('User logins by username  (300)');
  });

  test('npm run dashboard --watch counts exactly N lines written across rotations while it runs', async () => {
    const n = 600;
    const rotation = { maxBytes: 16 * 1024, filesKept: 3 };
    const file = new RotatingLogFile(join(dir, 'app-backend.log'), rotation);
    file.write(`${loginLine(-1)}\n`);
    file.end();
    const run = spawn(TSX, [join(ROOT, 'local', 'bin', 'dashboard.ts'), '--logs', dir, '--watch', '--interval', '1s', '--since', '1h'], { cwd: ROOT });
    try {
      const frames = createInterface({ input: run.stdout });
      const counts: number[] = [];
      const reader = (async () => {
        for await (const line of frames) {
          const match = /^User logins by username {2}\((\d+)\)/.exec(line);
          if (match) counts.push(Number(match[1]));
          if (counts.at(-1) === n + 1) return;
        }
      })();
      while (counts.length === 0) await sleep(50);
      // ~45 KB a second while 4 files of 16 KiB are kept and polled every second: none is dropped unread.
      const writer = new RotatingLogFile(join(dir, 'app-backend.log'), rotation);
      for (let i = 0; i < n; i++) {
        writer.write(`${loginLine(i)}\n`);
        if (i % 10 === 9) await sleep(50);
      }
      writer.end();
      await Promise.race([reader, sleep(15_000)]);
      expect(readdirSync(dir)).toContain('app-backend.log.3');
      expect(counts.at(-1)).toBe(n + 1);
      expect(Math.max(...counts)).toBe(n + 1); // never more than were written
    } finally {
      run.kill('SIGINT');
      await once(run, 'exit');
    }
  });
});
