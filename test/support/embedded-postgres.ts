// Starts the embedded Postgres (local/bin/db.ts) as a child process (embedded Postgres on a free port, throw-away data dir).
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, spawnReady } from './child';

export interface RunningPostgres {
  child: ChildProcess;
  stateDir: string;
  /** pid of the postgres server itself (the postmaster) */
  pid: number;
  port: number;
  stop(): Promise<void>;
}

export async function startPostgres(extraArgs: string[] = ['--ephemeral', '--exit-with-parent']): Promise<RunningPostgres> {
  const { child, ready, stop } = await spawnReady<{ stateDir: string; pid: number; port: number }>(join(ROOT, 'local', 'bin', 'db.ts'), extraArgs);
  return {
    child,
    stateDir: ready.stateDir,
    pid: ready.pid,
    port: ready.port,
    async stop() {
      await stop();
    },
  };
}
