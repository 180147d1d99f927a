// Crash consistency: the whole stack (runner, HAProxy, both backends, the weather service, the stand-in, Postgres
// and every process Postgres forked) is killed with SIGKILL, by pid, in the middle of a burst of registrations.
// Started again on the same data dir, every registration that was answered 201 exists, and none exists twice.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import type { EmbeddedPostgresState } from '../../layers/local-runtime/state';
import { childrenOf, groupMembers, isAlive, signalGroup } from '../../local/processes';
import { parseReadyLine } from '../../local/processes';
import { ROOT, startStack, type StackOptions, type StackUrls } from '../../local/stack';
import { eventually } from '../support/stack';
import { sleep } from '../support/traffic';

jest.setTimeout(600_000);

const CLIENTS = 12;
const KILL_AFTER_CREATED = 100;
const PASSWORD = `crash-${randomBytes(6).toString('hex')}`;

interface Attempt {
  username: string;
  status: number;
  id?: string;
  error?: string;
}

/** Starts the runner in a process of its own (node itself, no tsx wrapper in between, so its pid is the runner). */
async function startRunner(options: StackOptions) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'support', 'stack-process.ts'), JSON.stringify(options)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const ready = await new Promise<{ urls: StackUrls; pids: Record<string, number> }>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const ready = parseReadyLine<{ urls: StackUrls; pids: Record<string, number> }>(line);
      if (ready) resolve(ready);
    });
    child.once('exit', (code) => reject(new Error(`the stack runner exited with ${code}: ${stderr}`)));
  });
  return { child, ...ready };
}

async function register(api: string, username: string): Promise<Attempt> {
  try {
    const res = await fetch(`${api}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: PASSWORD }),
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await res.json().catch(() => ({}))) as { id?: string };
    return { username, status: res.status, id: body.id };
  } catch (err) {
    return { username, status: 0, error: (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name };
  }
}

test('every registration answered 201 before a SIGKILL of the whole stack exists after the restart, and none exists twice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chaos-crash-'));
  chmodSync(dir, 0o755); // as root, the embedded Postgres runs as the postgres user and must reach its data dir
  const options: StackOptions = {
    stateDir: join(dir, 'state'),
    logDir: join(dir, 'logs'),
    tag: `crash-${process.pid}`,
    // The production cost (the test run's default is 4): each registration then spends a while in the backend,
    // so the kill finds some of them half done.
    env: { PORT: '0', STATS_PORT: '0', WEATHER_HTTP_PORT: '0', RATE_LIMIT_AUTH_REQUESTS: '1000000', BCRYPT_COST: '10' },
    readyTimeoutMs: 240_000,
  };
  const prefix = `c${randomBytes(3).toString('hex')}`;
  const runner = await startRunner(options);
  const attempts: Attempt[] = [];
  let restarted: Awaited<ReturnType<typeof startStack>> | undefined;
  try {
    // The burst: CLIENTS clients registering new users back to back.
    let sending = true;
    let n = 0;
    const clients = Array.from({ length: CLIENTS }, async () => {
      while (sending) attempts.push(await register(runner.urls.api, `${prefix}_${n++}`));
    });
    await eventually('the burst to be under way', () => (attempts.filter((a) => a.status === 201).length >= KILL_AFTER_CREATED ? true : undefined), 120_000);

    // Everything at once, by pid: the runner, each process group it started, and Postgres's own children.
    const postmaster = (JSON.parse(readFileSync(join(options.stateDir!, 'postgres.json'), 'utf8')) as EmbeddedPostgresState).pid;
    const postgresChildren = childrenOf(postmaster);
    process.kill(runner.child.pid!, 'SIGKILL');
    for (const pid of Object.values(runner.pids)) signalGroup(pid, 'SIGKILL');
    for (const pid of postgresChildren) process.kill(pid, 'SIGKILL');
    const killedAt = attempts.length;
    sending = false;
    await Promise.all(clients);
    // Gone for good, not even a zombie: Postgres refuses to start while the pid in its lock file exists.
    const killed = [runner.child.pid!, postmaster, ...postgresChildren, ...Object.values(runner.pids)];
    await eventually('every killed process to be reaped', () => (killed.every((pid) => !existsSync(`/proc/${pid}`)) ? true : undefined));

    restarted = await startStack({ ...options });
    const state = JSON.parse(readFileSync(join(options.stateDir!, 'postgres.json'), 'utf8')) as EmbeddedPostgresState;
    const client = new pg.Client(state.appUrl);
    await client.connect();
    let rows: Array<{ id: string; username: string }>;
    let duplicates: unknown[];
    try {
      rows = (await client.query('SELECT id::text, username FROM users WHERE username LIKE $1', [`${prefix}\\_%`])).rows;
      duplicates = (await client.query('SELECT lower(username) AS name, count(*) FROM users GROUP BY 1 HAVING count(*) > 1')).rows;
    } finally {
      await client.end();
    }

    const answered = attempts.filter((a) => a.status === 201);
    const stored = new Map(rows.map((r) => [r.username, r.id]));
    const lost = answered.filter((a) => stored.get(a.username) !== a.id);
    const unanswered = rows.filter((r) => !answered.some((a) => a.username === r.username));
    const statuses = attempts.reduce<Record<string, number>>((acc, a) => ({ ...acc, [a.status || a.error!]: (acc[a.status || a.error!] ?? 0) + 1 }), {});
    console.log(
      `crash consistency: ${attempts.length} registrations sent (${killedAt} before the kill) ${JSON.stringify(statuses)}; ` +
        `after the restart (${restarted.startupMs} ms, with crash recovery) ${rows.length} of these users exist: ` +
        `${answered.length - lost.length}/${answered.length} answered 201 found, ${lost.length} lost, ` +
        `${unanswered.length} committed whose answer never arrived, ${duplicates.length} duplicates`,
    );
    expect(lost).toEqual([]);
    expect(duplicates).toEqual([]);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    expect(attempts.filter((a) => a.status !== 201 && a.status !== 0)).toEqual([]);

    // The restarted stack serves them: a sample logs in.
    for (const a of answered.slice(-5)) {
      const login = await fetch(`${restarted.urls.api}/token`, { method: 'POST', body: new URLSearchParams({ username: a.username, password: PASSWORD }) });
      expect(login.status).toBe(200);
    }
  } finally {
    await restarted?.stop();
    if (isAlive(runner.child.pid!)) runner.child.kill('SIGKILL');
    for (const pid of Object.values(runner.pids)) if (groupMembers(pid).length) signalGroup(pid, 'SIGKILL');
    await sleep(200);
    rmSync(dir, { recursive: true, force: true });
  }
});
