// The weather service deploys on its own: its bundles carry no auth, no JWT, no bcrypt and no users store.
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';

const ROOT = join(__dirname, '..', '..');
const FORBIDDEN = [/^layers\/auth\//, /^layers\/db\/users\.ts$/, /node_modules\/jsonwebtoken\//, /node_modules\/bcrypt\//, /^functions\/(?!weather\/)/];

/** What esbuild pulls into one function's bundle: its input files and the packages left external. */
async function bundleInputs(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [join(ROOT, entry)],
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    write: false,
    metafile: true,
    logLevel: 'silent',
    // Native addons cannot be bundled; kept external, they still show up among the imports below.
    external: ['pg-native', 'bcrypt', '@aws-sdk/*'],
  });
  const metafile: Metafile = result.metafile;
  const externals = Object.values(metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => `node_modules/${i.path}/`));
  return [...Object.keys(metafile.inputs), ...externals];
}

const offending = (inputs: string[]) => inputs.filter((input) => FORBIDDEN.some((rule) => rule.test(input)));

describe('bundles', () => {
  test.each(['functions/weather/get.ts', 'functions/weather/health.ts', 'functions/weather/not-found.ts'])(
    '%s contains no auth, users store, jsonwebtoken or bcrypt code',
    async (entry) => {
      const inputs = await bundleInputs(entry);
      expect(inputs).toContain('functions/weather/deps.ts');
      expect(offending(inputs)).toEqual([]);
    },
  );

  test("the backend's token function does contain them (the check can see them)", async () => {
    const found = offending(await bundleInputs('functions/auth/token.ts'));
    expect(found).toEqual(expect.arrayContaining(['layers/auth/tokens.ts', 'layers/db/users.ts', 'node_modules/bcrypt/']));
    expect(found.some((f) => f.includes('node_modules/jsonwebtoken/'))).toBe(true);
  });
});
