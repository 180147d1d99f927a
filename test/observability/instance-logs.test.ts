// An instance writes its own JSON log lines (local/services/instance-logs.ts, loaded with --require as the runner
// loads it): every JSON line of stdout and stderr lands once in <name>.log, rotated, 0600; anything else goes on down
// the pipe, and the lines of the last event-loop turn are written before the process exits.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bundleInstanceHook } from '../../local/services/bundles';

let dir: string;
let hook: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'instance-logs-'));
  hook = join(dir, 'instance-logs.cjs');
  await bundleInstanceHook(hook);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `script` in a node process with the hook, as an instance; resolves with what reached its pipes. */
async function asInstance(script: string, file: string, maxBytes = 50 * 1024 * 1024) {
  const env = { ...process.env, INSTANCE_LOGS: JSON.stringify({ file, maxBytes, filesKept: 3 }) };
  return promisify(execFile)(process.execPath, ['--require', hook, '-e', script], { env });
}

test('JSON lines of both streams go to the file, once each and in order; other output stays on the pipes', async () => {
  const file = join(dir, 'app-backend-1.log');
  const script = `
    for (let i = 0; i < 500; i++) console.log(JSON.stringify({ level: 'INFO', n: i }));
    console.error(JSON.stringify({ level: 'ERROR', message: 'to stderr' }));
    console.log('Server ready: http://localhost:3000 🚀');
    process.stderr.write('a plain warning\\n');
  `;
  const { stdout, stderr } = await asInstance(script, file);
  const lines = readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));
  expect(lines.filter((l) => l.level === 'INFO').map((l) => l.n)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  expect(lines.filter((l) => l.level === 'ERROR')).toEqual([{ level: 'ERROR', message: 'to stderr' }]);
  expect(stdout).toBe('Server ready: http://localhost:3000 🚀\n');
  expect(stderr).toBe('a plain warning\n');
  expect(stdout + stderr).not.toContain('"level"');
  expect(statSync(file).mode & 0o777).toBe(0o600);
});

test('the file is rotated by size between lines, keeping the rotated files', async () => {
  const file = join(dir, 'weather-service-1.log');
  await asInstance(`for (let i = 0; i < 400; i++) console.log(JSON.stringify({ level: 'INFO', n: i, pad: 'x'.repeat(60) }));`, file, 4096);
  const files = readdirSync(dir).filter((f) => f.startsWith('weather-service-1.log'));
  expect(files.length).toBeGreaterThan(1);
  const all = files.flatMap((f) => readFileSync(join(dir, f), 'utf8').trimEnd().split('\n'));
  // Only the last 3 rotated files are kept: what is left is whole lines, none twice.
  const numbers = all.map((line) => JSON.parse(line).n as number);
  expect(new Set(numbers).size).toBe(numbers.length);
  expect(numbers).toContain(399);
});

test('lines written just before the process exits are not lost', async () => {
  const file = join(dir, 'app-backend-2.log');
  await asInstance(`console.log(JSON.stringify({ level: 'INFO', last: true })); process.exit(0);`, file);
  expect(readFileSync(file, 'utf8')).toBe('{"level":"INFO","last":true}\n');
});
