// POST /token, bound by bcrypt: measured beside the bcrypt ceiling (raw compares on all cores) of the same moment.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { BcryptCeiling } from '../bcrypt-ceiling';
import { BCRYPT_COST, ROOT } from '../context';
import type { LoadScenario } from './scenario';

/**
 * /token in flight at once (at most): each backend instance runs BCRYPT_CONCURRENCY (3) compares and queues the rest
 * for at most BCRYPT_QUEUE_TIMEOUT_MS (2 s), then answers 503; 16 keeps the wait under that at ~10 compares/s.
 */
export const TOKEN_CONNECTIONS = 16;

export const token: LoadScenario = {
  id: 'token',
  title: `POST /token (form, bcrypt cost ${BCRYPT_COST}, ≤ ${TOKEN_CONNECTIONS} connections)`,
  spec: (base, user) => ({
    url: `${base}/token`,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: user.username, password: user.password, grant_type: 'password' }).toString(),
  }),
};

export function bcryptCeiling(seconds: number): Promise<BcryptCeiling> {
  const threads = Math.max(4, availableParallelism());
  return new Promise((resolveCeiling, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'bench', 'bcrypt-ceiling.ts'), String(BCRYPT_COST), String(seconds), String(threads * 2)],
      {
        cwd: ROOT,
        env: { ...process.env, UV_THREADPOOL_SIZE: String(threads) },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolveCeiling(JSON.parse(out.trim()) as BcryptCeiling) : reject(new Error(`bcrypt ceiling exited with ${code}`)),
    );
  });
}
