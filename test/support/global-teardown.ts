import type { RunningPostgres } from './embedded-postgres';
import type { TestCertificates } from './test-ca';

export default async function globalTeardown() {
  await (globalThis as { __POSTGRES__?: RunningPostgres }).__POSTGRES__?.stop();
  (globalThis as { __POSTGRES_TLS__?: TestCertificates }).__POSTGRES_TLS__?.remove();
}
