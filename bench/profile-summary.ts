// Summarises a V8 .cpuprofile (node --cpu-prof): the functions and packages with the most self time.
// Bundled code (serverless-esbuild output) is mapped back to its sources through the bundle's .map file,
// so a function shows up as node_modules/pg/... or layers/... rather than as a line of one big bundle.
//
//   tsx bench/profile-summary.ts <file.cpuprofile> [--top 20]
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  name: string;
  /** where it lives: a source file with line, or a V8 pseudo-frame such as (garbage collector) */
  location: string;
  /** "ours", a package name, "node" (built-ins) or "v8" (program, GC, idle) */
  owner: string;
  ms: number;
  /** share of the busy (non-idle) time */
  percent: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  busyMs: number;
  functions: SelfTime[];
  owners: { owner: string; ms: number; percent: number }[];
}

const maps = new Map<string, SourceMap | null>();

/** The source map of a bundle next to it (file.js.map), loaded once. */
function sourceMapOf(url: string): SourceMap | null {
  if (!maps.has(url)) {
    let map: SourceMap | null = null;
    try {
      const path = url.startsWith('file:') ? fileURLToPath(url) : url;
      if (existsSync(`${path}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8')));
    } catch {
      map = null;
    }
    maps.set(url, map);
  }
  return maps.get(url)!;
}

function ownerOf(source: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
  if (pkg) return pkg[1];
  if (source.startsWith('node:') || source === '') return 'node';
  if (/(^|\/)(functions|layers)\//.test(source)) return 'ours';
  return 'other';
}

function locate(frame: CallFrame): { location: string; owner: string } {
  const { url, lineNumber, columnNumber, functionName } = frame;
  if (!url) return { location: functionName.startsWith('(') ? functionName : '(native)', owner: functionName.startsWith('(') ? 'v8' : 'node' };
  const entry = sourceMapOf(url)?.findEntry(lineNumber, columnNumber) as { originalSource?: string; originalLine?: number } | undefined;
  if (entry?.originalSource) {
    const source = entry.originalSource.replace(/^.*?((?:node_modules|functions|layers)\/)/, '$1');
    return { location: `${source}:${(entry.originalLine ?? 0) + 1}`, owner: ownerOf(source) };
  }
  const path = url.replace(/^file:\/\//, '');
  return { location: `${path.replace(/^.*?(node_modules\/)/, '$1')}:${lineNumber + 1}`, owner: ownerOf(path) };
}

export function summarizeProfile(file: string, top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Each sample lasts until the next one: timeDeltas[i + 1] is the time spent in samples[i].
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + us);
  }
  const functions = new Map<string, SelfTime>();
  const owners = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id)!;
    totalUs += us;
    if (callFrame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const { location, owner } = locate(callFrame);
    const name = callFrame.functionName || '(anonymous)';
    const key = `${name}@${location}`;
    const entry = functions.get(key) ?? { name, location, owner, ms: 0, percent: 0 };
    entry.ms += us / 1000;
    functions.set(key, entry);
    owners.set(owner, (owners.get(owner) ?? 0) + us / 1000);
  }
  const busyMs = (totalUs - idleUs) / 1000;
  const pct = (ms: number) => Math.round((ms / busyMs) * 1000) / 10;
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    file,
    totalMs: round(totalUs / 1000),
    busyMs: round(busyMs),
    functions: [...functions.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map((f) => ({ ...f, ms: round(f.ms), percent: pct(f.ms) })),
    owners: [...owners.entries()].sort((a, b) => b[1] - a[1]).map(([owner, ms]) => ({ owner, ms: round(ms), percent: pct(ms) })),
  };
}

export function profileMarkdown(summary: ProfileSummary, topOwners = 12): string {
  const lines = [
    `Busy ${summary.busyMs} ms of ${summary.totalMs} ms sampled.`,
    '',
    '| self time by owner | ms | % of busy |',
    '| --- | ---: | ---: |',
    ...summary.owners.slice(0, topOwners).map((o) => `| ${o.owner} | ${o.ms} | ${o.percent} |`),
    '',
    '| function | where | owner | self ms | % of busy |',
    '| --- | --- | --- | ---: | ---: |',
    ...summary.functions.map((f) => `| \`${f.name}\` | ${f.location} | ${f.owner} | ${f.ms} | ${f.percent} |`),
  ];
  return lines.join('\n');
}

if (require.main === module) {
  const [file, ...rest] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: tsx bench/profile-summary.ts <file.cpuprofile> [--top N]\n');
    process.exit(2);
  }
  const i = rest.indexOf('--top');
  const top = i >= 0 ? Number(rest[i + 1]) : 20;
  process.stdout.write(`${profileMarkdown(summarizeProfile(file, top))}\n`);
}
