// Bundles every function of one serverless service in a single esbuild run, with the options its
// serverless.yml gives serverless-esbuild, so all serverless-offline instances of a stack load the same
// bundles (OFFLINE_PREBUILT). One run parses the shared modules once (the plugin bundles each function on
// its own) and esbuild exits afterwards instead of staying resident in every instance. In dev mode
// (watchService) esbuild keeps watching instead and marks each rebuild for local/dev-reload.cjs.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, context, stop, type BuildOptions, type Plugin } from 'esbuild';
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

/** The file a dev-mode rebuild rewrites last: instances watch it to drop the old bundles (local/dev-reload.cjs). */
export const RELOAD_MARKER = '.reload';

export interface BundleWatcher {
  /** Resolves after the next successful rebuild has been marked. */
  nextBuild(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * Bundles a service into outDir and keeps watching its sources (esbuild's incremental watch mode): after each
 * successful rebuild the reload marker is rewritten. Resolves once the first build is done.
 */
export async function watchService(serviceDir: string, outDir: string, progress: (message: string) => void): Promise<BundleWatcher> {
  const { entryCount, ...options } = serviceBuild(serviceDir, outDir);
  const waiting = new Set<() => void>();
  let builds = 0;
  let firstBuild!: () => void;
  const first = new Promise<void>((resolveFirst) => (firstBuild = resolveFirst));
  const marker: Plugin = {
    name: 'reload-marker',
    setup(bundler) {
      let startedAt = 0;
      bundler.onStart(() => void (startedAt = Date.now()));
      bundler.onEnd((result) => {
        if (result.errors.length > 0) return progress(`rebuild of ${serviceDir} failed: the instances keep the previous bundles`);
        writeFileSync(join(outDir, RELOAD_MARKER), `${Date.now()}\n`);
        if (builds++ === 0) firstBuild();
        else progress(`rebuilt ${entryCount} functions of ${serviceDir} in ${Date.now() - startedAt} ms`);
        for (const resolveBuild of waiting) resolveBuild();
        waiting.clear();
      });
    },
  };
  rmSync(outDir, { recursive: true, force: true });
  const ctx = await context({ ...options, logLevel: 'silent', plugins: [marker] });
  await ctx.watch();
  await first;
  return {
    nextBuild: () => new Promise<void>((resolveBuild) => waiting.add(resolveBuild)),
    dispose: () => ctx.dispose(),
  };
}

/** Stops esbuild's helper process once every bundle is built (it would otherwise stay resident). */
export const stopBundler = (): Promise<void> => stop();

/** Where a stack keeps one service's bundles (git-ignored: .esbuild-*). */
export const bundleDir = (serviceDir: string, tag: string): string => join(serviceDir, `.esbuild-${tag}`);
