// A small supervisor for a table of services: starts each once what it depends on is ready, waits for its
// readiness probe, reports unexpected exits, restarts one on request, and stops them all in reverse table
// order (a group of replicas together), by recorded pid.
import { relative } from 'node:path';
import { describeExit, ManagedProcess, type LogRouting } from './processes';

export interface ServiceSpec {
  /** Unique name: its log file is <name>.log. */
  name: string;
  /** Replicas share a group: they start side by side and stop together. */
  group: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logs: LogRouting;
  /** Keep a pipe to its stdin open (a child that exits with its parent watches it). */
  stdin?: boolean;
  /** Names of services that must be ready before this one starts. */
  dependsOn?: string[];
  /** Work to finish before the first start (e.g. the bundles it loads). */
  prepare?: () => Promise<void>;
  /** Resolves once the process serves; the supervisor fails the start if the process exits first. */
  ready: (proc: ManagedProcess) => Promise<unknown>;
  /** How it is asked to stop, and how long it gets before its process group is killed. */
  stop: { signal: NodeJS.Signals; graceMs: number };
}

export type ExitListener = (name: string, description: string) => void;

/** Restarts get a short grace: a restarted service is being replaced, not shut down cleanly. */
const RESTART_GRACE_MS = 3000;

export class Supervisor {
  private readonly specs = new Map<string, ServiceSpec>();
  private readonly processes = new Map<string, ManagedProcess>();
  private readonly readiness = new Map<string, Promise<void>>();
  private readonly restarting = new Set<string>();
  private readonly exitListeners = new Set<ExitListener>();
  private stopping?: Promise<void>;

  constructor(
    readonly table: ServiceSpec[],
    private readonly logDir: string,
    private readonly onLaunch: (processes: ReadonlyMap<string, ManagedProcess>) => void,
    private readonly progress: (message: string) => void,
  ) {
    for (const spec of table) this.specs.set(spec.name, spec);
  }

  get running(): ReadonlyMap<string, ManagedProcess> {
    return this.processes;
  }

  onUnexpectedExit(listener: ExitListener): void {
    this.exitListeners.add(listener);
  }

  /** Starts every service of the table (each as soon as its dependencies are ready); rejects on the first failure. */
  async start(signal?: AbortSignal): Promise<void> {
    const all = this.table.map((spec) => this.startOne(spec, signal));
    await Promise.all(all);
  }

  private startOne(spec: ServiceSpec, signal?: AbortSignal): Promise<void> {
    let started = this.readiness.get(spec.name);
    if (started) return started;
    started = (async () => {
      await Promise.all((spec.dependsOn ?? []).map((name) => this.startOne(this.spec(name), signal)));
      await spec.prepare?.();
      if (signal?.aborted || this.stopping) throw new Error('startup aborted');
      await this.launchAndWait(spec);
    })();
    started.catch(() => undefined); // awaited by start(); a failure meanwhile must not count as unhandled
    this.readiness.set(spec.name, started);
    return started;
  }

  private spec(name: string): ServiceSpec {
    const spec = this.specs.get(name);
    if (!spec) throw new Error(`${name} is not part of this stack`);
    return spec;
  }

  private launch(spec: ServiceSpec): ManagedProcess {
    const proc = new ManagedProcess(spec.name, spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      logDir: this.logDir,
      logs: spec.logs,
      stdin: spec.stdin,
    });
    this.processes.set(spec.name, proc);
    void proc.exited.then((exit) => {
      if (this.stopping || this.restarting.has(spec.name) || this.processes.get(spec.name) !== proc) return;
      const description = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
      for (const listener of this.exitListeners) listener(spec.name, description);
    });
    this.onLaunch(this.processes);
    return proc;
  }

  /** Launches a service and waits for its readiness probe; fails fast (with its last output) if it exits first. */
  private async launchAndWait(spec: ServiceSpec): Promise<ManagedProcess> {
    const proc = this.launch(spec);
    const died = proc.exited.then((exit) => {
      const log = relative(process.cwd(), proc.errorLogFile ?? proc.logFile);
      throw new Error(`${spec.name} ${describeExit(exit)} before it was ready; see ${log}:\n${proc.recentOutput()}`);
    });
    died.catch(() => undefined);
    await Promise.race([spec.ready(proc), died]);
    return proc;
  }

  /**
   * Stops one service, starts it again with the same command, ports and data (its environment changed by `env`, from
   * then on), and resolves with the new pid once ready.
   */
  async restart(name: string, env?: Record<string, string | undefined>): Promise<number> {
    let spec = this.specs.get(name);
    if (!spec || !this.processes.has(name) || this.stopping) throw new Error(`${name} is not part of this running stack`);
    if (env) {
      const merged = Object.fromEntries(Object.entries({ ...spec.env, ...env }).filter(([, value]) => value !== undefined));
      spec = { ...spec, env: merged };
      this.specs.set(name, spec);
    }
    this.restarting.add(name);
    try {
      await this.processes.get(name)!.stop(spec.stop.signal === 'SIGUSR1' ? 'SIGTERM' : spec.stop.signal, RESTART_GRACE_MS);
      return (await this.launchAndWait(spec)).pid;
    } finally {
      this.restarting.delete(name);
    }
  }

  /** Stops everything, in reverse table order, a group at a time (idempotent). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const groups: ServiceSpec[][] = [];
      for (const spec of [...this.table].reverse()) {
        const last = groups[groups.length - 1];
        if (last && last[0].group === spec.group) last.push(spec);
        else groups.push([spec]);
      }
      for (const group of groups) {
        const running = group.filter((spec) => this.processes.has(spec.name));
        if (running.length === 0) continue;
        this.progress(
          `stopping ${running
            .map((spec) => spec.name)
            .reverse()
            .join(', ')}`,
        );
        await Promise.all(running.map((spec) => this.processes.get(spec.name)!.stop(spec.stop.signal, spec.stop.graceMs)));
      }
    })();
    return this.stopping;
  }
}
