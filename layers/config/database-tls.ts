// Outside stage local a database URL must ask for TLS that verifies the server: `sslmode=verify-full`, nothing weaker.
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

/** Why a database URL is refused outside stage local, or undefined when it asks for `sslmode=verify-full` (once: pg takes the last). */
export function tlsProblem(url: URL): string | undefined {
  const modes = url.searchParams.getAll('sslmode');
  if (modes.length === 1 && modes[0] === 'verify-full') return undefined;
  const why =
    modes.length === 0
      ? 'without sslmode the connection is not encrypted'
      : modes.length > 1
        ? 'sslmode is given more than once'
        : (WEAKER[modes[0]] ?? `"${modes[0].slice(0, 20)}" is not an sslmode`);
  return `must ask for sslmode=verify-full outside stage local: ${why}`;
}
