// A dev-mode stack (npm run dev's) running from a scratch copy of the source tree, so a test or the reload
// measurement can edit handlers and layers without touching the working tree (or other stacks bundling it).
// node_modules is linked, not copied.
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ManagedProcess, parseReadyLine, sleep } from '../../local/processes';
import type { ServiceName, StackOptions, StackUrls } from '../../local/stack';

const REPOSITORY = join(__dirname, '..', '..');
const COPIED = ['functions', 'layers', 'local', 'test/support/stack-process.ts', 'serverless.yml', 'haproxy.cfg', 'package.json', 'tsconfig.json'];
/** Generated or local-only paths that stay out of the copy. */
const SKIPPED = /(^|\/)(\.esbuild[^/]*|\.serverless|\.data|logs)(\/|$)/;

export interface ScratchDevStack {
  /** The scratch tree: edit files under it. */
  root: string;
  urls: StackUrls;
  pids: Partial<Record<ServiceName, number>>;
  stop(): Promise<void>;
}

/** Copies the tree into a temporary directory and starts a dev stack from it on free ports. */
export async function startScratchDevStack(options: StackOptions = {}): Promise<ScratchDevStack> {
  const root = mkdtempSync(join(tmpdir(), 'dev-stack-'));
  chmodSync(root, 0o755); // as root, an embedded Postgres runs as the postgres user and must reach its data dir
  for (const entry of COPIED)
    cpSync(join(REPOSITORY, entry), join(root, entry), { recursive: true, filter: (src) => !SKIPPED.test(relative(REPOSITORY, src)) });
  symlinkSync(join(REPOSITORY, 'node_modules'), join(root, 'node_modules'));
  const stackOptions: StackOptions = {
    stateDir: join(root, 'local', '.data'),
    readyTimeoutMs: 240_000,
    ...options,
    env: { PORT: '0', STATS_PORT: '0', WEATHER_HTTP_PORT: '0', ...options.env },
    dev: true,
  };
  const runner = new ManagedProcess(
    'dev-stack',
    process.execPath,
    ['--import', 'tsx', join(root, 'test', 'support', 'stack-process.ts'), JSON.stringify(stackOptions)],
    {
      cwd: root,
      env: process.env,
      logDir: tmpdir(),
      logs: 'plain',
    },
  );
  const remove = () => rmSync(root, { recursive: true, force: true });
  try {
    const ready = await runner.waitForLine((line) => parseReadyLine<{ urls: StackUrls; pids: Partial<Record<ServiceName, number>> }>(line));
    return { root, ...ready, stop: () => runner.stop('SIGTERM', 30_000).then(remove) };
  } catch (err) {
    await runner.stop('SIGTERM', 30_000);
    remove();
    throw err;
  }
}

/** Replaces `from` by `to` in every .ts file under dir that holds it; fails when none does (a refactor moved it). */
export function replaceInSources(dir: string, from: string, to: string): string[] {
  const files = (readdirSync(dir, { recursive: true }) as string[]).filter((file) => file.endsWith('.ts')).map((file) => join(dir, file));
  const edited = files.filter((file) => readFileSync(file, 'utf8').includes(from));
  if (edited.length === 0) throw new Error(`no source file under ${dir} holds "${from}"`);
  for (const file of edited) writeFileSync(file, readFileSync(file, 'utf8').split(from).join(to));
  return edited;
}

/** The detail of the 404 the backend answers for an unknown path (a layer builds it: dev mode edits it). */
export async function notFoundDetail(api: string): Promise<string> {
  const answer = await fetch(`${api}/no-such-route`);
  return ((await answer.json()) as { detail?: string }).detail ?? '';
}

/** The text the 404 detail starts with, in layers/http: the reload test and measurement edit it. */
export const NOT_FOUND_TEXT = '`no route for ';

/** Milliseconds from now until `served()` is true, polled every 25 ms; fails after timeoutMs. */
export async function millisUntil(served: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!(await served().catch(() => false))) {
    if (performance.now() - started > timeoutMs) throw new Error(`the new code was not served within ${timeoutMs} ms`);
    await sleep(25);
  }
  return performance.now() - started;
}
