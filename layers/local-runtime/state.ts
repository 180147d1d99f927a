// The local runner's state in local/.data: the embedded Postgres's URLs and the generated secrets. Consulted on stage local only.
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Env } from '../config/env';

/**
 * Where the local runner keeps state. Found by walking up from the working directory, because
 * `sls invoke local` runs from the esbuild output folder and the weather service from functions/weather.
 */
export function localStateDir(env: Env = process.env): string {
  if (env.LOCAL_STATE_DIR) return resolve(env.LOCAL_STATE_DIR);
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'local', '.data'))) return join(dir, 'local', '.data');
    if (dirname(dir) === dir) return join(process.cwd(), 'local', '.data');
  }
}

/** What the embedded Postgres (local/services/postgres.ts) writes when the embedded server is up. */
export interface EmbeddedPostgresState {
  pid: number;
  port: number;
  appUrl: string;
  weatherUrl: string;
}

export function readEmbeddedState(env: Env = process.env): EmbeddedPostgresState | undefined {
  const file = join(localStateDir(env), 'postgres.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as EmbeddedPostgresState;
}

/** A secret generated once into the state dir (file name `name`) and kept, so every local instance shares it. */
export function localSecret(env: Env, name: string): string {
  const dir = localStateDir(env);
  const file = join(dir, name);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    // Written aside, then linked into place: two services starting at once never read a half-written file.
    const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(draft, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' });
    try {
      linkSync(draft, file);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err; // another instance won the race
    } finally {
      unlinkSync(draft);
    }
  }
  return readFileSync(file, 'utf8').trim();
}
