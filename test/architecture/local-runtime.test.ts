// Only one module knows the runner: layers/local-runtime/ (the embedded Postgres's state, the generated secrets,
// serverless-offline's quirks, the one-per-process registries), wired in by the two composition roots. No other file
// of layers/ reads a file, a runner path or globalThis; no other function imports the local runtime.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return name === 'migrations' ? [] : sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** What knowing the runner looks like in code (comments are left out). */
const RUNNER_KNOWLEDGE = [/node:fs/, /local\/\.data/, /postgres\.json/, /stack\.json/, /LOCAL_STATE_DIR/, /globalThis/, /offlineContext/, /OFFLINE_PREBUILT/];
const code = (file: string) =>
  readFileSync(join(ROOT, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');

describe('the local runtime', () => {
  const layers = sources('layers');

  test('has its own module, which the rule below can see', () => {
    const inside = layers.filter((file) => file.startsWith('layers/local-runtime/'));
    expect(inside.length).toBeGreaterThanOrEqual(3);
    expect(inside.some((file) => RUNNER_KNOWLEDGE.some((pattern) => pattern.test(code(file))))).toBe(true);
  });

  test('no other file of layers/ reads a runner file or path, or keeps state on globalThis', () => {
    const knowing = layers
      .filter((file) => !file.startsWith('layers/local-runtime/'))
      .flatMap((file) => RUNNER_KNOWLEDGE.filter((pattern) => pattern.test(code(file))).map((pattern) => `${file}: ${pattern}`));
    expect(knowing).toEqual([]);
  });

  test('only the composition roots import it', () => {
    const importers = [...sources('functions'), ...layers]
      .filter((file) => !file.startsWith('layers/local-runtime/'))
      .filter((file) => /from '[./]*(layers\/)?local-runtime\//.test(code(file)));
    expect(importers.map((file) => relative(ROOT, join(ROOT, file))).sort()).toEqual(['functions/deps.ts', 'functions/weather/deps.ts']);
  });
});
