import type { RunningPostgres } from './embedded-postgres';

export default async function globalTeardown() {
  await (globalThis as { __POSTGRES__?: RunningPostgres }).__POSTGRES__?.stop();
}
