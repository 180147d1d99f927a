// Child processes of the local runner: each one in its own process group (so it and everything it spawns
// can be stopped together, by pid), its output routed to local/logs, and /proc to see what is left.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { RotatingLogFile } from './log-files';
import { closeWriteEnd, logPipe, type LogPipe } from './log-pipe';
import { rotationSettings } from './settings';

/**
 * How a process's output reaches local/logs:
 * - `self`: the child writes its JSON lines to <name>.log itself (local/services/instance-logs.ts); whatever else it
 *   prints (serverless-offline's banners, Node's warnings, a crash) reaches <name>.stderr.log through this process;
 * - `json`: JSON lines go to <name>.log (from stdout, and from stderr, where Powertools writes WARN and ERROR),
 *   anything else (serverless-offline's banners and notices) to <name>.stderr.log;
 * - `files`: stdout into <name>.log through a pipe read in batches (local/log-pipe.ts: HAProxy's access lines),
 *   stderr into <name>.stderr.log, both copied in chunks (not split into lines);
 * - `plain`: stdout and stderr both into <name>.log.
 */
export type LogRouting = 'self' | 'json' | 'files' | 'plain';

export interface LaunchOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  logDir: string;
  logs: LogRouting;
  /** Keep a pipe to stdin open (a child that exits when its parent goes away watches it). */
  stdin?: boolean;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const TAIL_LINES = 40;

export class ManagedProcess {
  readonly pid: number;
  readonly logFile: string;
  readonly errorLogFile?: string;
  readonly exited: Promise<Exit>;
  exit?: Exit;
  private readonly child: ChildProcess;
  /** For `files`: the pipe its stdout writes into. */
  private readonly logPipe?: LogPipe;
  private readonly tail: string[] = [];
  private readonly lineListeners = new Set<(line: string) => void>();

  constructor(
    readonly name: string,
    readonly command: string,
    readonly args: string[],
    options: LaunchOptions,
  ) {
    this.logFile = join(options.logDir, `${name}.log`);
    if (options.logs !== 'plain') this.errorLogFile = join(options.logDir, `${name}.stderr.log`);
    const pipe = options.logs === 'files' ? logPipe(options.logDir, name) : undefined;
    this.child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true, // its own process group: Ctrl-C reaches only the runner, which stops the rest in order
      // Output always passes through this process, whose writer rotates the files by size (local/log-files.ts).
      stdio: [options.stdin ? 'pipe' : 'ignore', pipe?.writeFd ?? 'pipe', 'pipe'],
    });
    if (pipe) closeWriteEnd(pipe);
    this.logPipe = pipe;
    if (this.child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
    this.pid = this.child.pid;
    this.exited = new Promise((resolveExit) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolveExit(this.exit);
      });
      this.child.once('error', (err) => {
        this.remember(`${name}: ${err.message}`);
        this.exit ??= { code: -1, signal: null };
        resolveExit(this.exit);
      });
    });
    this.route(options.logs);
  }

  private route(mode: LogRouting) {
    const rotation = rotationSettings();
    const out = mode === 'self' ? undefined : new RotatingLogFile(this.logFile, rotation);
    // A `self` child owns its <name>.log: everything that reaches this process goes to its stderr file.
    const err = mode === 'plain' ? out! : new RotatingLogFile(this.errorLogFile!, rotation);
    const files = [...new Set([out ?? err, err])];
    let open = 2;
    const closeWhenDone = () => {
      if (--open === 0) for (const file of files) file.end();
    };
    if (mode === 'files') {
      this.logPipe!.read((chunk) => out!.write(chunk), closeWhenDone);
      this.child.stderr!.on('data', (chunk: Buffer) => err.write(chunk)).on('close', closeWhenDone);
      return;
    }
    // Which file a line goes to: `json` splits by shape (Powertools writes WARN and ERROR JSON to stderr).
    const fileOf = (line: string, fromStdout: boolean) => {
      if (mode === 'self') return err;
      if (mode === 'json') return line.startsWith('{') ? out! : err;
      return fromStdout ? out! : err;
    };
    for (const [stream, fromStdout] of [
      [this.child.stdout!, true],
      [this.child.stderr!, false],
    ] as const) {
      createInterface({ input: stream })
        .on('line', (line) => {
          fileOf(line, fromStdout).write(`${line}\n`);
          this.remember(line);
        })
        .on('close', closeWhenDone);
    }
  }

  private remember(line: string) {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    for (const listener of this.lineListeners) listener(line);
  }

  /** The last lines it printed (for error messages); for output written straight to files, their last lines. */
  recentOutput(): string {
    if (this.tail.length > 0) return this.tail.join('\n');
    const files = [this.errorLogFile, this.logFile].filter((file): file is string => file !== undefined && existsSync(file));
    return files
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .trimEnd()
          .split('\n')
          .slice(-TAIL_LINES / 2),
      )
      .join('\n');
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Resolves with the first output line `pick` accepts; rejects if the process exits first. */
  waitForLine<T>(pick: (line: string) => T | undefined): Promise<T> {
    return new Promise((resolveLine, reject) => {
      const listener = (line: string) => {
        const value = pick(line);
        if (value === undefined) return;
        this.lineListeners.delete(listener);
        resolveLine(value);
      };
      this.lineListeners.add(listener);
      void this.exited.then((exit) => {
        if (!this.lineListeners.delete(listener)) return;
        reject(new Error(`${this.name} exited (${describeExit(exit)}) before it was ready:\n${this.recentOutput()}`));
      });
    });
  }

  /**
   * Stops it: `signal` to the process itself (it shuts down its own children), then, after `graceMs`,
   * SIGKILL to whatever is left of its process group.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
    if (this.running) {
      signalProcess(this.pid, signal);
      await within(this.exited, graceMs);
    }
    for (let attempt = 0; groupMembers(this.pid).length > 0 && attempt < 20; attempt++) {
      signalGroup(this.pid, 'SIGKILL');
      await sleep(100);
    }
    await within(this.exited, 1000);
    this.child.stdin?.destroy();
  }
}

export function describeExit(exit: Exit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

export const sleep = (ms: number) => new Promise<void>((resolveSleep) => setTimeout(resolveSleep, ms));

/** Waits for a promise at most `ms` (the timer is cleared when the promise settles first). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolveLate) => (timer = setTimeout(() => resolveLate(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Sends a signal to every process of a group (the group id is its leader's pid). */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  return signalProcess(-pgid, signal);
}

export interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgid: number;
  rssPages: number;
}

function procStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: fields resume after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, state: fields[0], ppid: Number(fields[1]), pgid: Number(fields[2]), rssPages: Number(fields[21]) };
  } catch {
    return undefined;
  }
}

/** Every live (non-zombie) process, from /proc. */
export function liveProcesses(): ProcStat[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map((entry) => procStat(Number(entry)))
    .filter((stat): stat is ProcStat => stat !== undefined && stat.state !== 'Z');
}

/** Live (non-zombie) processes of a process group, from /proc. */
export function groupMembers(pgid: number): number[] {
  return liveProcesses()
    .filter((stat) => stat.pgid === pgid)
    .map((stat) => stat.pid);
}

/** Live processes whose parent is `pid` (Postgres puts each session and worker in a process group of its own). */
export function childrenOf(pid: number): number[] {
  return liveProcesses()
    .filter((stat) => stat.ppid === pid)
    .map((stat) => stat.pid);
}

/** Whether a pid is a live (non-zombie) process. */
export function isAlive(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

/** The command line of a live process, as recorded in /proc (arguments joined by spaces). */
export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return undefined;
  }
}

const PAGE_SIZE = 4096;

/**
 * Summed resident memory of the given processes, their process groups and their descendants, in bytes
 * (descendants too: Postgres puts each of its processes in a session of its own). Shared pages count once
 * per process, so this overstates what the machine gives up.
 */
export function residentBytes(pids: number[]): number {
  const all = liveProcesses();
  const counted = new Set<number>();
  const visit = (pid: number) => {
    if (counted.has(pid)) return;
    counted.add(pid);
    for (const stat of all) if (stat.ppid === pid || stat.pgid === pid) visit(stat.pid);
  };
  for (const pid of pids) visit(pid);
  return all.filter((stat) => counted.has(stat.pid)).reduce((sum, stat) => sum + stat.rssPages * PAGE_SIZE, 0);
}

/**
 * The one line a child prints on stdout when it is ready ({"ready":true,...}): the runner, the tests and the
 * bench wait for it. Other lines (JSON logs) may come before it.
 */
export function readyLine(details: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ ready: true, ...details })}\n`;
}

/** Prints the ready line on stdout. */
export function announceReady(details: Record<string, unknown> = {}): void {
  process.stdout.write(readyLine(details));
}

/** The details of a ready line, or undefined for any other line. */
export function parseReadyLine<T extends object = Record<string, unknown>>(line: string): T | undefined {
  if (!line.startsWith('{"ready":true')) return undefined;
  try {
    return JSON.parse(line) as T;
  } catch {
    return undefined;
  }
}
