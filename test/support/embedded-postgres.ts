// Starts local/postgres.ts as a child process (embedded Postgres on a free port, throw-away data dir).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = join(__dirname, '..', '..');
export const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

export interface RunningPostgres {
  child: ChildProcess;
  stateDir: string;
  /** pid of the postgres server itself (the postmaster) */
  pid: number;
  port: number;
  stop(): Promise<void>;
}

export async function startPostgres(extraArgs: string[] = ['--ephemeral', '--exit-with-parent']): Promise<RunningPostgres> {
  const child = spawn(TSX, [join(ROOT, 'local', 'postgres.ts'), ...extraArgs], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = await Promise.race([
    once(lines, 'line').then(([line]) => JSON.parse(line as string) as { stateDir: string; pid: number; port: number }),
    once(child, 'exit').then(([code]) => {
      throw new Error(`embedded postgres exited with ${code}: ${stderr}`);
    }),
  ]);
  return {
    child,
    ...ready,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
