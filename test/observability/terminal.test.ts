// npm run dashboard prints values taken from log lines (usernames, cities): none of their control
// characters may reach the operator's terminal.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVENTS } from '../../layers/events';
import { barChart, printable } from '../../local/observability/terminal';
import { ROOT, TSX } from '../support/child';

// Clear screen, a fake prompt after a carriage return, a bell, a C1 CSI, a right-to-left override.
const HOSTILE = 'mallory\u001b[2J\u001b[31m\r$ sudo \u0007\u009b1m\u202eevil';
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

test('printable() removes C0 and C1 controls and bidirectional overrides, and keeps the rest', () => {
  expect(printable(HOSTILE)).toBe('mallory[2J[31m$ sudo 1mevil');
  expect(printable('São Paulo — Москва')).toBe('São Paulo — Москва');
});

test('a bar chart never prints a control character from a key', () => {
  const lines = barChart('Failed login attempts by username', [{ key: HOSTILE, count: 3 }], 100);
  expect(lines.join('\n')).not.toMatch(CONTROL);
});

test('npm run dashboard strips control characters that reached the logs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'terminal-'));
  try {
    const at = new Date().toISOString();
    const line = (fields: Record<string, unknown>) => JSON.stringify({ level: 'INFO', timestamp: at, service: 'app-backend', request_id: 'r', ...fields });
    writeFileSync(
      join(dir, 'app-backend.log'),
      [
        line({ message: EVENTS.loginFailed.name, event: EVENTS.loginFailed.name, username: HOSTILE, reason: 'unknown_user' }),
        line({ message: EVENTS.loginSucceeded.name, event: EVENTS.loginSucceeded.name, username: `bob\u001b]0;owned\u0007` }),
      ].join('\n') + '\n',
    );
    const run = spawn(TSX, [join(ROOT, 'local', 'bin', 'dashboard.ts'), '--logs', dir, '--since', '1h'], { cwd: ROOT });
    let out = '';
    run.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const [code] = await once(run, 'exit');
    expect(code).toBe(0);
    expect(out).toContain('Failed login attempts by username  (1)');
    expect(out).toContain('mallory[2J');
    expect(out).not.toMatch(CONTROL);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
