// Bundles every function of one serverless service in a single esbuild run, with the options its
// serverless.yml gives serverless-esbuild, so all serverless-offline instances of a stack load the same
// bundles (OFFLINE_PREBUILT). One run parses the shared modules once (the plugin bundles each function on
// its own) and esbuild exits afterwards instead of staying resident in every instance.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build, stop, type BuildOptions } from 'esbuild';
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

/**
 * Bundles a service into outDir (which must lie inside the project, so externals resolve from its
 * node_modules), mirroring the source layout: functions/auth/register.ts → outDir/functions/auth/register.js.
 */
export async function bundleService(serviceDir: string, outDir: string): Promise<{ entries: number; ms: number }> {
  const started = Date.now();
  const { entryPoints, options } = bundlePlan(serviceDir);
  rmSync(outDir, { recursive: true, force: true });
  await build({
    ...options,
    entryPoints: entryPoints.map((entry) => join(serviceDir, entry)),
    outbase: serviceDir,
    outdir: outDir,
    logLevel: 'error',
    absWorkingDir: serviceDir,
  });
  return { entries: entryPoints.length, ms: Date.now() - started };
}

/** Stops esbuild's helper process once every bundle is built (it would otherwise stay resident). */
export const stopBundler = (): Promise<void> => stop();

/** Where a stack keeps one service's bundles (git-ignored: .esbuild-*). */
export const bundleDir = (serviceDir: string, tag: string): string => join(serviceDir, `.esbuild-${tag}`);
