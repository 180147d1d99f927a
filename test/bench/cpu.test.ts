// The /proc arithmetic of bench/cpu.ts against real processes that burn a known amount of CPU (their own
// process.cpuUsage() says how much): a busy loop, and a child that exits inside the window and is reaped.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { cpuSnapshot, cpuSpent, processCpu, US_PER_TICK, type CpuGroups } from '../../bench/cpu';

// Waits for "go" on stdin, then runs the given body, prints "done <µs>" and stays until stdin closes.
const worker = (body: string) => `
const { execFileSync } = require('node:child_process');
process.stdin.once('data', () => {
  const us = (() => { ${body} })();
  process.stdout.write('done ' + us + '\\n');
  process.stdin.once('end', () => process.exit(0)).resume();
});
process.stdout.write('ready\\n');`;

/** Burns `ms` of its own CPU (user + system, by process.cpuUsage) in a busy loop and returns what it used. */
const BURN = (ms: number) =>
  `const start = process.cpuUsage(); let used = 0; while (used < ${ms * 1000}) { const u = process.cpuUsage(start); used = u.user + u.system; } return used;`;

/** A grandchild that burns `ms` and prints its whole CPU usage (start-up included) as it ends; the child waits for it. */
const REAPED = (ms: number) =>
  `const script = ${JSON.stringify(`${BURN(ms).replace('return used;', '')} const all = process.cpuUsage(); process.stdout.write(String(all.user + all.system));`)};` +
  ' return Number(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" }));';

let child: ChildProcessWithoutNullStreams | undefined;
afterEach(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  child = undefined;
});

/** Starts a worker, takes the snapshots around its body, and returns what each group spent and what the body reported. */
async function measure(body: string, groups: (pid: number) => CpuGroups[]): Promise<{ spent: Record<string, number>[]; reportedUs: number }> {
  child = spawn(process.execPath, ['-e', worker(body)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout });
  const next = () => new Promise<string>((resolveLine) => lines.once('line', resolveLine));
  expect(await next()).toBe('ready');
  const sets = groups(child.pid!);
  const before = sets.map((g) => cpuSnapshot(g, 'start'));
  child.stdin.write('go\n');
  const done = await next();
  const after = sets.map((g) => cpuSnapshot(g, 'end'));
  child.stdin.end();
  return { spent: before.map((b, i) => cpuSpent(b, after[i])), reportedUs: Number(done.split(' ')[1]) };
}

describe('CPU per process group from /proc', () => {
  it('reads a process that exists and nothing for one that does not', () => {
    const self = processCpu(process.pid)!;
    expect(self.ppid).toBe(process.ppid);
    expect(self.ownTicks).toBeGreaterThan(0);
    expect(processCpu(2 ** 22 + 1)).toBeUndefined(); // above the kernel's pid_max ceiling
  });

  it("measures a busy loop's ~300 ms of CPU within a few clock ticks", async () => {
    const { spent, reportedUs } = await measure(BURN(300), (pid) => [{ loop: { pid, only: 'process' } }]);
    expect(reportedUs).toBeGreaterThanOrEqual(300_000);
    // the loop itself plus reading one line and writing one: a clock tick either side, and some slack
    expect(spent[0].loop).toBeGreaterThanOrEqual(reportedUs - 2 * US_PER_TICK);
    expect(spent[0].loop).toBeLessThanOrEqual(reportedUs + 5 * US_PER_TICK);
  }, 30_000);

  it('counts a child that exited inside the window in its tree (reaped), not in the single process', async () => {
    const { spent, reportedUs } = await measure(REAPED(200), (pid): CpuGroups[] => [{ tree: { pid } }, { alone: { pid, only: 'process' } }]);
    expect(reportedUs).toBeGreaterThanOrEqual(200_000);
    // the tree: the grandchild's whole life (it started and ended in the window) plus the child's spawning of it
    expect(spent[0].tree).toBeGreaterThanOrEqual(reportedUs - 2 * US_PER_TICK);
    expect(spent[0].tree).toBeLessThanOrEqual(reportedUs + 10 * US_PER_TICK);
    // the child alone only waited for it
    expect(spent[1].alone).toBeLessThan(reportedUs / 2);
  }, 30_000);

  it('gives each process to one group only, the single processes first', async () => {
    child = spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const pid = child.pid!;
    const both = cpuSnapshot({ tree: { pid: process.pid }, alone: { pid, only: 'process' } });
    expect(both.pids.alone).toEqual([pid]);
    expect(both.pids.tree).toContain(process.pid);
    expect(both.pids.tree).not.toContain(pid); // this process's child, but claimed by `alone`
    expect(cpuSnapshot({ tree: { pid: process.pid } }).pids.tree).toContain(pid);
  });
});
