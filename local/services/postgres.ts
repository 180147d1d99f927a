// The stack's Postgres: the embedded server in a child process of its own (`npm run db`'s program, local/bin/db.ts,
// which loads local/services/embedded-postgres.ts), ready when it prints its ready line, stopped by SIGTERM.
import { join } from 'node:path';
import { ROOT } from '../paths';
import { parseReadyLine } from '../processes';
import type { ServiceSpec } from '../supervisor';

/** The stack's Postgres: `npm run db`'s program in the stack's state dir, stopped (SIGTERM) when the stack stops or the runner dies. */
export function postgresService(p: { stateDir: string; port: number; env: NodeJS.ProcessEnv }): ServiceSpec {
  return {
    name: 'postgres',
    group: 'postgres',
    command: process.execPath,
    args: ['--import', 'tsx', join(ROOT, 'local', 'bin', 'db.ts'), '--state-dir', p.stateDir, '--port', String(p.port), '--exit-with-parent'],
    env: p.env,
    cwd: ROOT,
    logs: 'plain',
    stdin: true,
    ready: (proc) => proc.waitForLine((line) => parseReadyLine(line)),
    stop: { signal: 'SIGTERM', graceMs: 15_000 },
  };
}
