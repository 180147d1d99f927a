// A start that names what is wrong: bad settings stop `npm start`, `npm run dev` and `npm run db` at once, before
// anything starts; a stack that never gets healthy names HAProxy's last answer and each instance's last error line.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKEND_SETTINGS } from '../../functions/settings';
import { resolveSetting } from '../../layers/config/schema';
import { LOCAL_DEFAULTS } from '../../layers/local-runtime/defaults';
import { startTestStack } from '../support/stack';
import { ROOT } from '../support/child';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a package script as a user would (npm, from the repository root) with extra environment; never longer than 60 s. */
function npmRun(args: string[], env: Record<string, string>): Promise<Run> {
  const started = Date.now();
  return new Promise((resolveRun) => {
    execFile('npm', args, { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolveRun({ code: typeof code === 'number' ? code : 1, stdout, stderr, ms: Date.now() - started });
    });
  });
}

describe('bad settings stop the local commands before anything starts', () => {
  let state: string;
  beforeEach(() => {
    state = mkdtempSync(join(tmpdir(), 'fail-fast-'));
  });
  afterEach(() => rmSync(state, { recursive: true, force: true }));

  test.each([
    ['npm start', ['start']],
    ['npm run dev', ['run', 'dev']],
    ['npm run db', ['run', 'db']],
  ])('%s with BCRYPT_COST=99 and PORT=abc exits 1, naming both, their values and ranges', async (_, args) => {
    const run = await npmRun(args, { BCRYPT_COST: '99', PORT: 'abc', LOCAL_STATE_DIR: state });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('BCRYPT_COST must be an integer from 4 to 15, got "99"');
    expect(run.stderr).toContain('PORT must be an integer from 0 to 65535, got "abc"');
    // Nothing started: no pid file, no Postgres data, no generated secret.
    expect(readdirSync(state)).toEqual([]);
    // A guard against a start that ran on (the old runner stopped after ~3 minutes); the 2 s goal is measured, not asserted.
    expect(run.ms).toBeLessThan(20_000);
  });

  test('a secret that is too short is named without its value', async () => {
    const run = await npmRun(['start'], { JWT_SECRET: 'hunter2-is-short', LOCAL_STATE_DIR: state });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('JWT_SECRET must be at least 32 bytes long');
    expect(run.stderr + run.stdout).not.toContain('hunter2');
  });
});

describe('a stack that does not get healthy', () => {
  test('says what HAProxy last answered and the last error line of each instance', async () => {
    // The backend's database URL has a wrong password: every setting is well-formed, the backend cannot reach its data.
    const good = resolveSetting(BACKEND_SETTINGS.specs.databaseUrl, process.env, LOCAL_DEFAULTS)!;
    const wrong = good.replace(/:\/\/([^:]+):[^@]+@/, '://$1:not-the-password@');
    const failure = await startTestStack({ embeddedPostgres: true, readyTimeoutMs: 15_000, env: { DATABASE_URL: wrong } }).then(
      async (stack) => {
        await stack.stop();
        return undefined;
      },
      (err: Error) => err,
    );
    expect(failure).toBeInstanceOf(Error);
    const message = failure!.message;
    expect(message).toMatch(/timed out waiting for GET \/health-check through HAProxy to answer 200 \(its last answer: HTTP 503\)/);
    expect(message).toMatch(/app-backend-1: \{.*password authentication failed/);
    expect(message).toMatch(/app-backend-2: \{/);
    expect(message).toMatch(/weather-service-1: /);
    expect(message).not.toContain(wrong);
  }, 180_000);
});
