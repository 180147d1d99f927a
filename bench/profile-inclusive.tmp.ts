// ad hoc: inclusive time per owner and per source file (each sample counted once per owner/file on its stack)
import { readFileSync, existsSync } from 'node:fs';
import { SourceMap } from 'node:module';
const file = process.argv[2];
const top = Number(process.argv[3] ?? 40);
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map<number, any>(p.nodes.map((n: any) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const maps = new Map<string, SourceMap | null>();
const mapOf = (url: string) => {
  if (!maps.has(url)) { const path = url.replace(/^file:\/\//, '').replace(/^\/work\/main\/functions\/weather\/\.esbuild-bench-\d+/, '/tmp/bundles/weather').replace(/^\/work\/main\/\.esbuild-bench-\d+/, '/tmp/bundles/backend'); maps.set(url, existsSync(path + '.map') ? new SourceMap(JSON.parse(readFileSync(path + '.map', 'utf8'))) : null); }
  return maps.get(url);
};
const where = new Map<number, { owner: string; src: string; fn: string }>();
function locate(id: number) {
  if (where.has(id)) return where.get(id)!;
  const f = byId.get(id).callFrame;
  let src = f.url || f.functionName; let fnName = f.functionName;
  if (f.url) {
    const e: any = mapOf(f.url)?.findEntry(f.lineNumber, f.columnNumber);
    if (e?.originalSource) { src = e.originalSource.replace(/^.*?((?:node_modules|functions|layers)\/)/, '$1'); if (e.name) fnName = e.name; }
    else src = f.url.replace(/^file:\/\//, '').replace(/^.*?(node_modules\/)/, '$1');
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(src);
  const owner = pkg ? pkg[1] : src.startsWith('node:') ? 'node:' + src.slice(5).split('/')[0] : /(functions|layers)\//.test(src) ? src.replace(/^.*?((functions|layers)\/[^:]*).*/, '$1') : src || '(native)';
  const r = { owner, src: src.replace(/^.*?((?:node_modules|functions|layers)\/)/, '$1'), fn: fnName };
  where.set(id, r); return r;
}
const incOwner = new Map<string, number>(); const incFn = new Map<string, number>();
let busy = 0;
for (let i = 0; i < p.samples.length; i++) {
  const us = p.timeDeltas[i + 1] ?? 0; const id = p.samples[i];
  if (byId.get(id).callFrame.functionName === '(idle)') continue;
  busy += us;
  const owners = new Set<string>(); const fns = new Set<string>();
  for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) { const l = locate(n); owners.add(l.owner); fns.add(`${l.fn || '(anon)'} ${l.src}`); }
  for (const o of owners) incOwner.set(o, (incOwner.get(o) ?? 0) + us);
  for (const f of fns) incFn.set(f, (incFn.get(f) ?? 0) + us);
}
console.log(`busy ${(busy / 1000).toFixed(0)} ms`);
const show = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).forEach(([k, v]) => console.log(`${((v / busy) * 100).toFixed(1).padStart(5)}%  ${k}`));
console.log('-- inclusive by owner'); show(incOwner, top);
console.log('-- inclusive by function'); show(incFn, top * 2);
