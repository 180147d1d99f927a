// Login roles with passwords. CREATE/ALTER ROLE … PASSWORD '…' takes no bind parameters, so the password is in the
// statement's text, and Postgres writes that text to its log when the statement fails (log_min_error_statement),
// or when told to log statements (log_statement, log_min_duration_statement). The transaction that runs one turns
// all three off for itself (superuser-only settings, SET LOCAL: the session's own values come back after it).
import type pg from 'pg';

const NO_STATEMENT_LOG = ["SET LOCAL log_statement = 'none'", 'SET LOCAL log_min_error_statement = panic', 'SET LOCAL log_min_duration_statement = -1'];

/** Runs `statement` (which holds a secret) in a transaction whose statements Postgres never logs, failed ones included. */
async function unlogged(admin: pg.Client, statement: string): Promise<void> {
  await admin.query('BEGIN');
  try {
    await admin.query(NO_STATEMENT_LOG.join('; '));
    await admin.query(statement);
    await admin.query('COMMIT');
  } catch (err) {
    await admin.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Creates the login role, or sets its password and attributes when it exists (as a superuser). */
export async function ensureRole(admin: pg.Client, role: string, password: string): Promise<void> {
  const exists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  const verb = exists.rowCount ? 'ALTER' : 'CREATE';
  await unlogged(admin, `${verb} ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${password.replace(/'/g, "''")}'`);
}
