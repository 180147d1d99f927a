// The runner's pid file (<state dir>/stack.json): who runs the stack, its URLs and the pid and command of every
// process it started, so a second runner refuses to start and one that was killed leaves nothing behind.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandLine, groupMembers, isAlive, signalGroup, sleep } from './processes';

export interface PidFile {
  pid: number;
  command: string;
  startedAt: string;
  urls?: Record<string, unknown>;
  processes: Record<string, { pid: number; command: string }>;
}

export class StackAlreadyRunning extends Error {
  constructor(
    readonly pid: number,
    readonly urls: { api?: string } | undefined,
    pidFile: string,
  ) {
    super(
      `the stack is already running (pid ${pid}${urls?.api ? `, ${urls.api}` : ''}); stop it with Ctrl-C in its terminal or \`kill ${pid}\` (pid file ${pidFile})`,
    );
    this.name = 'StackAlreadyRunning';
  }
}

export const pidFilePath = (stateDir: string): string => join(stateDir, 'stack.json');

function readPidFile(file: string): PidFile | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PidFile;
  } catch {
    return undefined;
  }
}

const stillRunning = (proc: { pid: number; command: string }) => isAlive(proc.pid) && commandLine(proc.pid) === proc.command;

/** Stops what a dead runner left running: SIGTERM (Postgres gets time for a clean shutdown), then SIGKILL to each group. */
async function stopLeftovers(previous: PidFile, log: (message: string) => void): Promise<void> {
  const left = Object.entries(previous.processes ?? {}).filter(([, proc]) => stillRunning(proc));
  for (const [name, proc] of left) {
    log(`stopping ${name} (pid ${proc.pid}), left over by a stack that did not stop cleanly`);
    process.kill(proc.pid, 'SIGTERM');
  }
  for (let waited = 0; left.some(([, proc]) => isAlive(proc.pid)) && waited < 10_000; waited += 200) await sleep(200);
  for (const [, proc] of left) signalGroup(proc.pid, 'SIGKILL');
  for (let waited = 0; left.some(([, proc]) => groupMembers(proc.pid).length > 0) && waited < 3000; waited += 100) await sleep(100);
}

/**
 * Claims the stack's pid file. A live owner means the stack runs: refuse. A dead owner (killed without
 * cleaning up) may have left processes behind: those still running the recorded command are stopped.
 */
export async function claimPidFile(stateDir: string, log: (message: string) => void): Promise<void> {
  const file = pidFilePath(stateDir);
  const previous = existsSync(file) ? readPidFile(file) : undefined;
  if (previous && stillRunning(previous)) throw new StackAlreadyRunning(previous.pid, previous.urls, file);
  if (previous) await stopLeftovers(previous, log);
  writePidFile(stateDir, { processes: {} });
}

/** Merges `update` into the pid file, as owned by this process. */
export function writePidFile(stateDir: string, update: Partial<PidFile>): void {
  const file = pidFilePath(stateDir);
  const current: Partial<PidFile> = (existsSync(file) && readPidFile(file)) || {};
  const next: PidFile = {
    processes: {},
    ...current,
    ...update,
    pid: process.pid,
    command: commandLine(process.pid) ?? '',
    startedAt: current.pid === process.pid && current.startedAt ? current.startedAt : new Date().toISOString(),
  };
  writeFileSync(file, `${JSON.stringify(next, null, 2)}\n`);
}

/** Removes the pid file if this process owns it. */
export function releasePidFile(stateDir: string): void {
  const file = pidFilePath(stateDir);
  if (readPidFile(file)?.pid === process.pid) rmSync(file, { force: true });
}
