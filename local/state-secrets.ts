// Secrets the local runner generates once into its state dir (mode 0600) when the environment sets none:
// the JWT secret (read by the backend's config) and the weather service credential (sent by the backend,
// checked by the weather service). Written before any instance starts, so instances cannot race to create them.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The secret in <stateDir>/<file>, created with 48 random bytes (base64url) if it does not exist yet. */
export function stateSecret(stateDir: string, file: string): string {
  const path = join(stateDir, file);
  try {
    writeFileSync(path, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readFileSync(path, 'utf8').trim();
}
