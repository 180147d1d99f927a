// Outside stage local a database URL must ask for TLS that verifies the server: `sslmode=verify-full`, nothing weaker.
import { ConfigError } from './env';

// pg (pg-connection-string 2) treats these as verify-full, but prints a warning (a plain-text line in CloudWatch),
// and the next major version gives them libpq's weaker meaning; libpq's own: no verification of the server's name.
const WEAKER: Record<string, string> = {
  require: 'it checks no certificate in libpq (pg treats it as verify-full only with a warning, and will change that)',
  prefer: 'it falls back to no TLS in libpq (pg treats it as verify-full only with a warning, and will change that)',
  'verify-ca': 'it checks no server name in libpq (pg treats it as verify-full only with a warning, and will change that)',
  'no-verify': 'it accepts any certificate',
  allow: 'it connects without TLS',
  disable: 'it connects without TLS',
};

/** Throws the variable's ConfigError unless the URL asks for `sslmode=verify-full` (and only that: pg takes the last value given). */
export function requireVerifiedTls(name: string, databaseUrl: string): void {
  let modes: string[];
  try {
    modes = new URL(databaseUrl).searchParams.getAll('sslmode');
  } catch {
    throw new ConfigError(name, `${name} is not a valid URL`);
  }
  if (modes.length === 1 && modes[0] === 'verify-full') return;
  const why =
    modes.length === 0
      ? 'without sslmode the connection is not encrypted'
      : modes.length > 1
        ? 'sslmode is given more than once'
        : (WEAKER[modes[0]] ?? `"${modes[0].slice(0, 20)}" is not an sslmode`);
  throw new ConfigError(name, `${name} must ask for sslmode=verify-full outside stage local: ${why}`);
}

/** A settings reader's database URL, checked at once outside stage local (locally any URL is taken as given). */
export function withVerifiedTls(name: string, local: boolean, databaseUrl: () => string): () => string {
  if (!local) requireVerifiedTls(name, databaseUrl());
  return databaseUrl;
}
