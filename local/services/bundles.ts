// Bundles every function of one serverless service in a single esbuild run, with the options its
// serverless.yml gives serverless-esbuild, so all serverless-offline instances of a stack load the same
// bundles (OFFLINE_PREBUILT). One run parses the shared modules once (the plugin bundles each function on
// its own) and esbuild exits afterwards instead of staying resident in every instance. In dev mode
// (watchService) an incremental esbuild context rebuilds on each source change and marks it for local/services/dev-reload.cjs.
import { existsSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, context, stop, type BuildOptions } from 'esbuild';
import { parse } from 'yaml';

interface ServiceYaml {
  functions?: Record<string, { handler?: string }>;
  custom?: { esbuild?: Record<string, unknown> };
}

/** The entry files and esbuild options of a service, as its serverless.yml declares them. */
export function bundlePlan(serviceDir: string): { entryPoints: string[]; options: BuildOptions } {
  const doc = parse(readFileSync(join(serviceDir, 'serverless.yml'), 'utf8')) as ServiceYaml;
  const esbuild = doc.custom?.esbuild ?? {};
  const literal = <T>(key: string, fallback: T): T => {
    const value = esbuild[key] ?? fallback;
    if (JSON.stringify(value).includes('${')) throw new Error(`custom.esbuild.${key} in ${serviceDir}/serverless.yml uses a variable: cannot prebuild`);
    return value as T;
  };
  const list = (key: string) => {
    const value = literal<string | string[]>(key, []);
    return (Array.isArray(value) ? value : [value]).filter((name) => name !== '*');
  };
  const entryPoints = Object.entries(doc.functions ?? {}).map(([name, fn]) => {
    const base = (fn.handler ?? '').replace(/\.[^./]+$/, '');
    const file = ['.ts', '.js'].map((ext) => base + ext).find((candidate) => existsSync(join(serviceDir, candidate)));
    if (!file) throw new Error(`function ${name}: no source file for handler "${fn.handler}" in ${serviceDir}`);
    return file;
  });
  return {
    entryPoints: [...new Set(entryPoints)],
    options: {
      bundle: literal('bundle', true),
      minify: literal('minify', false),
      sourcemap: literal<BuildOptions['sourcemap']>('sourcemap', 'linked'),
      target: literal('target', 'node20'),
      platform: literal<BuildOptions['platform']>('platform', 'node'),
      format: literal<BuildOptions['format']>('format', 'cjs'),
      // serverless-esbuild treats excluded packages as external too (they are simply not packaged).
      external: [...list('external'), ...list('exclude')],
    },
  };
}

/** esbuild options for bundling a service into outDir, mirroring the source layout. */
function serviceBuild(serviceDir: string, outDir: string): BuildOptions & { entryCount: number } {
  const { entryPoints, options } = bundlePlan(serviceDir);
  return {
    ...options,
    entryPoints: entryPoints.map((entry) => join(serviceDir, entry)),
    outbase: serviceDir,
    outdir: outDir,
    logLevel: 'error',
    absWorkingDir: serviceDir,
    entryCount: entryPoints.length,
  };
}

/**
 * Bundles a service into outDir (which must lie inside the project, so externals resolve from its
 * node_modules), mirroring the source layout: functions/auth/register.ts → outDir/functions/auth/register.js.
 */
export async function bundleService(serviceDir: string, outDir: string): Promise<{ entries: number; ms: number }> {
  const started = Date.now();
  const { entryCount, ...options } = serviceBuild(serviceDir, outDir);
  rmSync(outDir, { recursive: true, force: true });
  await build(options);
  return { entries: entryCount, ms: Date.now() - started };
}

/** The instances' log hook (local/services/instance-logs.ts) as one CommonJS file for `node --require`. */
export async function bundleInstanceHook(outFile: string): Promise<void> {
  await build({
    entryPoints: [join(__dirname, 'instance-logs.ts')],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'error',
  });
}

/** The file a dev-mode rebuild rewrites last: instances watch it to drop the old bundles (local/services/dev-reload.cjs). */
export const RELOAD_MARKER = '.reload';

export interface BundleWatcher {
  dispose(): Promise<void>;
}

/** Source changes that matter: TypeScript and JSON under the watched dirs, never a bundle or package output. */
const isSource = (file: string) => /\.(ts|js|json)$/.test(file) && !/(^|\/)\.(esbuild|serverless)/.test(file);

/**
 * Bundles a service into outDir, then rebuilds it (esbuild's incremental context) whenever a source file under
 * `watchDirs` changes, and rewrites the reload marker after each successful rebuild. Resolves after the first build.
 */
export async function watchService(serviceDir: string, outDir: string, watchDirs: string[], progress: (message: string) => void): Promise<BundleWatcher> {
  const { entryCount, ...options } = serviceBuild(serviceDir, outDir);
  rmSync(outDir, { recursive: true, force: true });
  // Packages stay in node_modules (loaded once per instance): a rebuild then re-emits only our own code.
  const ctx = await context({ ...options, packages: 'external' });
  await ctx.rebuild();
  let running: Promise<void> | undefined;
  let again = false;
  const rebuild = async () => {
    const started = Date.now();
    try {
      await ctx.rebuild();
      writeFileSync(join(outDir, RELOAD_MARKER), `${Date.now()}\n`);
      progress(`rebuilt ${entryCount} functions of ${serviceDir} in ${Date.now() - started} ms`);
    } catch {
      progress(`rebuild of ${serviceDir} failed: the instances keep the previous bundles`);
    }
  };
  // One rebuild at a time; changes that arrive meanwhile cause one more.
  const schedule = () => {
    if (running) return void (again = true);
    running = rebuild().finally(() => {
      running = undefined;
      if (!again) return;
      again = false;
      schedule();
    });
  };
  const watchers = watchDirs.map((dir) => watch(dir, { recursive: true }, (_event, file) => file && isSource(file) && schedule()));
  return {
    dispose: async () => {
      for (const watcher of watchers) watcher.close();
      await running;
      await ctx.dispose();
    },
  };
}

/** Stops esbuild's helper process once every bundle is built (it would otherwise stay resident). */
export const stopBundler = (): Promise<void> => stop();

/** Where a stack keeps one service's bundles (git-ignored: .esbuild-*). */
export const bundleDir = (serviceDir: string, tag: string): string => join(serviceDir, `.esbuild-${tag}`);
