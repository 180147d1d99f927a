// HAProxy's runtime API on the runner's admin socket (haproxy.cfg: `stats socket "${HAPROXY_ADMIN_SOCKET}"`, mode 600).
// A restarted instance leaves its pool first (DRAIN: HAProxy sends it nothing new, the requests it serves finish, its
// checks go on), only once the rest of the pool is UP, and takes traffic again only once HAProxy's own checks pass on
// the new process: restarted one after another, the instances of a pool are never out together and no request is cut
// (test/stack/token-rotation.test.ts).
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../processes';
import { parseStatsCsv, serverRows } from './haproxy-stats';

/** The longest path a Unix socket can bind to (sun_path holds 108 bytes with its terminating NUL). */
const MAX_SOCKET_PATH = 107;

/** Where the socket goes: the state dir, or a private temporary folder when that path is too long to bind. */
export function adminSocketPath(stateDir: string): string {
  const inState = join(stateDir, 'haproxy.sock');
  return Buffer.byteLength(inState) <= MAX_SOCKET_PATH ? inState : join(mkdtempSync(join(tmpdir(), 'haproxy-')), 'haproxy.sock');
}

/** Sends one command and resolves with HAProxy's whole answer (it closes the connection after a command). */
export function adminCommand(socket: string, command: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolveAnswer, reject) => {
    let answer = '';
    const connection = connect(socket, () => connection.end(`${command}\n`));
    connection.setEncoding('utf8').setTimeout(timeoutMs);
    connection.on('data', (chunk: string) => (answer += chunk));
    connection.on('timeout', () => connection.destroy(new Error(`HAProxy's admin socket did not answer "${command}" within ${timeoutMs} ms`)));
    connection.on('error', reject);
    connection.on('close', () => resolveAnswer(answer));
  });
}

/** Each server of a backend: its state (UP, DOWN, MAINT, "UP 1/2" going down …) and the requests it is serving (scur). */
async function poolStats(socket: string, backend: string): Promise<Map<string, { status: string; current: number }>> {
  const rows = serverRows(parseStatsCsv(await adminCommand(socket, 'show stat')), backend);
  return new Map(rows.map((row) => [row.svname, { status: row.status, current: Number(row.scur) }]));
}

/** A state change answers an empty line when it worked; anything else is HAProxy's reason it did not. */
export async function setServerState(socket: string, backend: string, server: string, state: 'drain' | 'ready'): Promise<void> {
  const answer = (await adminCommand(socket, `set server ${backend}/${server} state ${state}`)).trim();
  if (answer !== '') throw new Error(`HAProxy refused to set ${backend}/${server} to ${state}: ${answer}`);
}

type Pool = Awaited<ReturnType<typeof poolStats>>;

/** Polls the pool every 50 ms until `done` holds or `ms` have passed; says whether it held. */
async function poolUntil(socket: string, backend: string, done: (pool: Pool) => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (done(await poolStats(socket, backend))) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

export interface RollingTimes {
  /** How long the rest of the pool may take to be UP (a restart just before, a check that failed under load). */
  peersMs: number;
  /** How long the server's requests may take to finish before it is stopped anyway. */
  requestsMs: number;
  /** How long HAProxy's checks may take to pass on the new process. */
  checksMs: number;
}

/**
 * Takes a server out of its pool, once every other server of the pool is UP (else, after `peersMs`, anyway: the caller
 * asked for a restart, and is told), and waits until the requests it was serving are answered.
 */
export async function withdrawServer(socket: string, backend: string, server: string, times: RollingTimes, progress: (m: string) => void): Promise<void> {
  const peersUp = (pool: Pool) => [...pool].every(([name, s]) => name === server || s.status === 'UP');
  if (!(await poolUntil(socket, backend, peersUp, times.peersMs))) progress(`restarting ${server} while the rest of ${backend} is not UP in HAProxy`);
  await setServerState(socket, backend, server, 'drain');
  await poolUntil(socket, backend, (pool) => pool.get(server)?.current === 0, times.requestsMs);
}

/**
 * Gives a restarted server its traffic back once HAProxy's checks pass on it ("DRAIN": up, still drained; a stopped
 * process shows DOWN, one coming back "DOWN 1/2"). If they do not within `checksMs` it is put back all the same, its
 * checks deciding from then on, and the caller is told.
 */
export async function restoreServer(socket: string, backend: string, server: string, times: RollingTimes, progress: (m: string) => void): Promise<void> {
  const healthy = await poolUntil(socket, backend, (pool) => pool.get(server)?.status === 'DRAIN', times.checksMs);
  await setServerState(socket, backend, server, 'ready');
  if (!healthy) progress(`${server} restarted, but HAProxy's checks have not passed on it within ${times.checksMs} ms`);
}
