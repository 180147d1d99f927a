// Starts a TypeScript entry point in a child process (tsx) and waits for its one JSON "ready" line on stdout.
// Its stdin stays open: a child may treat its end as "the test run went away".
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseReadyLine } from '../../local/processes';

export const ROOT = join(__dirname, '..', '..');
export const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

export interface ReadyChild<R> {
  child: ChildProcess;
  ready: R;
  /** SIGTERM, then the exit code once it has exited. */
  stop(): Promise<number | null>;
}

export async function spawnReady<R = Record<string, unknown>>(script: string, args: string[] = [], env: Record<string, string> = {}): Promise<ReadyChild<R>> {
  const child = spawn(TSX, [script, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = once(child, 'exit') as Promise<[number | null]>;
  const ready = await Promise.race([
    new Promise<R>((resolveReady) => {
      // Other lines (JSON logs) may come first; the ready line is the one that says so.
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const ready = parseReadyLine<R & object>(line);
        if (ready) resolveReady(ready);
      });
    }),
    exited.then(([code]) => {
      throw new Error(`${script} exited with ${code} before it was ready: ${stderr}`);
    }),
  ]);
  return {
    child,
    ready,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const [code] = await exited;
      return code;
    },
  };
}
