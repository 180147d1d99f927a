// Resident memory of process trees, read from /proc (Linux): RSS summed per process, and PSS, which splits
// shared pages (Postgres shared buffers, the node binary) between the processes that map them.
import { readFileSync } from 'node:fs';
import { liveProcesses } from '../local/processes';

export interface TreeMemory {
  /** every process counted: the roots and all their descendants, each labelled with its root's name */
  processes: { pid: number; service: string; command: string; rssMb: number; pssMb: number }[];
  rssMb: number;
  pssMb: number;
}

function kbField(text: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

function readProcess(pid: number, service: string) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    let pssKb = 0;
    try {
      pssKb = kbField(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
    } catch {
      pssKb = kbField(status, 'VmRSS');
    }
    const command = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?';
    return { pid, service, command, rssMb: kbField(status, 'VmRSS') / 1024, pssMb: pssKb / 1024 };
  } catch {
    return undefined; // it exited meanwhile
  }
}

/** Memory of the given processes (by service name) and all their descendants, each process counted once. */
export function treeMemory(roots: Record<string, number>): TreeMemory {
  const children = new Map<number, number[]>();
  for (const { pid, ppid } of liveProcesses()) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const seen = new Map<number, string>();
  const walk = (pid: number, service: string) => {
    if (seen.has(pid)) return;
    seen.set(pid, service);
    for (const child of children.get(pid) ?? []) walk(child, service);
  };
  for (const [service, pid] of Object.entries(roots)) walk(pid, service);
  const processes = [...seen].map(([pid, service]) => readProcess(pid, service)).filter((p): p is NonNullable<typeof p> => p !== undefined);
  const round = (mb: number) => Math.round(mb * 10) / 10;
  return {
    processes: processes.map((p) => ({ ...p, rssMb: round(p.rssMb), pssMb: round(p.pssMb) })),
    rssMb: round(processes.reduce((sum, p) => sum + p.rssMb, 0)),
    pssMb: round(processes.reduce((sum, p) => sum + p.pssMb, 0)),
  };
}
