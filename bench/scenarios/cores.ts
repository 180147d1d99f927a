// The stack pinned to 1 core and to all (2) cores with taskset, cached weather measured each time: how the system
// grows with cores. Every thread of every stack process is re-pinned in place (taskset -a -p), so no restart; the
// load generator runs on a core outside the pin when there is one left, else beside the stack (reported).
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { groupMembers, liveProcesses } from '../../local/processes';
import { say } from '../context';
import { runLoad } from '../requests';
import type { CoresPoint } from '../results';
import { loadSettings, type Run } from './scenario';
import { weatherHit } from './weather-hit';

const run$ = promisify(execFile);

/** Every process of the stack: its process groups and all their descendants (Postgres forks in a group of its own). */
function stackProcesses(pids: Record<string, number>): number[] {
  const children = new Map<number, number[]>();
  for (const { pid, ppid } of liveProcesses()) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const seen = new Set<number>();
  const walk = (pid: number) => {
    if (seen.has(pid)) return;
    seen.add(pid);
    for (const child of children.get(pid) ?? []) walk(child);
  };
  for (const pid of Object.values(pids).flatMap((leader) => [leader, ...groupMembers(leader)])) walk(pid);
  return [...seen];
}

/** Pins every thread of every stack process; children forked later (Postgres backends) inherit the mask. */
async function pinStack(pids: Record<string, number>, cpus: string): Promise<number> {
  const members = stackProcesses(pids);
  const results = await Promise.allSettled(members.map((pid) => run$('taskset', ['-a', '-p', '-c', cpus, String(pid)])));
  return results.filter((r) => r.status === 'fulfilled').length;
}

export async function runCores(run: Run): Promise<void> {
  const all = availableParallelism();
  const allCpus = `0-${all - 1}`;
  const points: CoresPoint[] = [];
  try {
    for (const cores of [1, 2].filter((n) => n <= all)) {
      const stackCpus = cores === 1 ? '0' : `0-${cores - 1}`;
      const loadCpus = cores < all ? (cores === all - 1 ? `${cores}` : `${cores}-${all - 1}`) : undefined;
      const pinned = await pinStack(run.target.pids, stackCpus);
      say(`cores: stack pinned to CPU ${stackCpus} (${pinned} processes), load generator ${loadCpus ? `on CPU ${loadCpus}` : 'unpinned'}...`);
      const result = await runLoad({ ...loadSettings(run), ...weatherHit.spec(run.target.api, run.user) }, loadCpus);
      say(`  ${result.requestsPerSecond} req/s, p99 ${result.latencyMs.p99} ms, errors ${result.errors}`);
      points.push({ cores, stackCpus, loadGenerator: loadCpus ? `CPU ${loadCpus}` : "unpinned (shares the stack's cores)", result });
    }
  } finally {
    await pinStack(run.target.pids, allCpus);
  }
  run.report.cores = points;
}
