// Per test file: function log lines go to a file, not the test output; the database pools it opened are closed.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { closeDatabases } from '../../functions/deps';

// Handlers invoked in-process log one JSON line per event on stdout, thousands per run, burying jest's report.
// They are kept, per test file, in test-results/function-logs/<test path>.log; other output passes through.
const root = join(__dirname, '..', '..');
const logFile = join(root, 'test-results', 'function-logs', `${relative(root, expect.getState().testPath ?? 'unknown')}.log`);
const write = process.stdout.write.bind(process.stdout) as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;
let folderMade = false;
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  if (!text.startsWith('{"level":')) return write(chunk, ...rest);
  if (!folderMade) mkdirSync(dirname(logFile), { recursive: true });
  folderMade = true;
  appendFileSync(logFile, text);
  const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
  callback?.();
  return true;
}) as typeof process.stdout.write;

afterAll(async () => {
  await closeDatabases();
});
