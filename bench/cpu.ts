// CPU time per request of each process group, from /proc/<pid>/stat: utime + stime (fields 14 and 15, all threads
// of a process), exact and not sampled, but counted in clock ticks (getconf CLK_TCK, normally 100: 10 ms).
// A group is a process tree (its root, its process group and every descendant); children that exited inside a
// tree are counted through their parent's cutime + cstime (fields 16 and 17) once it has reaped them.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

function clockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100; // Linux's USER_HZ everywhere it runs today
  }
}

export const CLOCK_TICKS_PER_SECOND = clockTicks();
export const US_PER_TICK = 1e6 / CLOCK_TICKS_PER_SECOND;

export interface ProcessCpu {
  pid: number;
  ppid: number;
  pgid: number;
  /** utime + stime of the process (every thread, live or ended), in clock ticks */
  ownTicks: number;
  /** cutime + cstime: the CPU of its children that exited and were reaped, in clock ticks */
  reapedTicks: number;
}

/** One process's CPU so far, or undefined when it is gone (zombies still answer: their time is not lost yet). */
export function processCpu(pid: number): ProcessCpu | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: fields resume after the last ')', at field 3.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(f[1]), pgid: Number(f[2]), ownTicks: Number(f[11]) + Number(f[12]), reapedTicks: Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined;
  }
}

function allProcesses(): ProcessCpu[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map((entry) => processCpu(Number(entry)))
    .filter((p): p is ProcessCpu => p !== undefined);
}

/**
 * What to measure, by group name: `tree` counts the root, its process group and all their descendants (a
 * service); `process` only the pid itself (the runner, whose children are the services, counted apart).
 */
export type CpuGroups = Record<string, { pid: number; only?: 'process' | 'tree' }>;

export interface CpuSnapshot {
  /** clock ticks so far per group */
  ticks: Record<string, number>;
  /** the processes counted per group */
  pids: Record<string, number[]>;
}

/** Assigns every process to at most one tree, in the order given (a pid in `taken` belongs to none). */
function trees(groups: [string, number][], all: ProcessCpu[], taken: Set<number>): Map<string, ProcessCpu[]> {
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const related = new Map<number, ProcessCpu[]>();
  for (const p of all) for (const key of new Set([p.ppid, p.pgid])) if (key !== p.pid) related.set(key, [...(related.get(key) ?? []), p]);
  const claimed = new Set(taken);
  const result = new Map<string, ProcessCpu[]>();
  for (const [name, pid] of groups) {
    const found: ProcessCpu[] = [];
    const walk = (p: ProcessCpu | undefined) => {
      if (!p || claimed.has(p.pid)) return;
      claimed.add(p.pid);
      found.push(p);
      for (const child of related.get(p.pid) ?? []) walk(child);
    };
    walk(byPid.get(pid));
    result.set(name, found);
  }
  return result;
}

/**
 * The CPU of every group so far. Trees add their members' reaped children (a Postgres backend that closed); a
 * single process does not (the runner reaps the load generators, which are measured on their own). Single
 * processes are read after the walk of /proc at the start of a window and before it at the end, so the walk's
 * own cost (the runner's, when it measures itself) stays outside the window.
 */
export function cpuSnapshot(groups: CpuGroups, at: 'start' | 'end' = 'start'): CpuSnapshot {
  const snapshot: CpuSnapshot = { ticks: {}, pids: {} };
  const singles = Object.entries(groups).filter(([, g]) => g.only === 'process');
  const readSingles = () => {
    for (const [name, g] of singles) {
      const p = processCpu(g.pid);
      snapshot.ticks[name] = p?.ownTicks ?? 0;
      snapshot.pids[name] = p ? [p.pid] : [];
    }
  };
  if (at === 'end') readSingles();
  const treeGroups = Object.entries(groups).filter(([, g]) => g.only !== 'process');
  const taken = new Set(singles.map(([, g]) => g.pid));
  for (const [name, list] of trees(
    treeGroups.map(([name, g]) => [name, g.pid]),
    allProcesses(),
    taken,
  )) {
    snapshot.ticks[name] = list.reduce((sum, p) => sum + p.ownTicks + p.reapedTicks, 0);
    snapshot.pids[name] = list.map((p) => p.pid);
  }
  if (at === 'start') readSingles();
  return snapshot;
}

/** Microseconds of CPU each group spent between two snapshots (groups missing from either are left out). */
export function cpuSpent(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const spent: Record<string, number> = {};
  for (const [name, ticks] of Object.entries(after.ticks))
    if (before.ticks[name] !== undefined && before.pids[name].length > 0) spent[name] = (ticks - before.ticks[name]) * US_PER_TICK;
  return spent;
}
