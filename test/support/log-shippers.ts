// Reads the Promtail (YAML) and Grafana Alloy configs into one shape, and runs that shape over log lines the
// way the shippers do, so both configs are held to the same tests without a container.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ROOT } from './child';

export const OBSERVABILITY = join(ROOT, 'local', 'observability');

// ---- Alloy syntax: blocks, attributes and expressions (literals, lists, objects, references) ----

export type AlloyValue = string | number | boolean | null | AlloyValue[] | { [key: string]: AlloyValue } | { ref: string };

export interface AlloyBlock {
  name: string;
  label?: string;
  attributes: Record<string, AlloyValue>;
  blocks: AlloyBlock[];
}

type Token = { kind: 'ident' | 'string' | 'number' | 'punct'; text: string; at: number };

function unescapeAlloyString(body: string, at: number): string {
  return body.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, c: string) => {
    if (c.length > 1) return String.fromCharCode(parseInt(c.slice(1), 16));
    const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v' };
    if (!(c in map)) throw new Error(`unknown escape \\${c} in the string at offset ${at}`);
    return map[c];
  });
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (/\s/.test(c)) {
      i += 1;
    } else if (source.startsWith('//', i) || c === '#') {
      while (i < source.length && source[i] !== '\n') i += 1;
    } else if (source.startsWith('/*', i)) {
      const end = source.indexOf('*/', i + 2);
      if (end < 0) throw new Error(`unterminated comment at offset ${i}`);
      i = end + 2;
    } else if (c === '"') {
      let j = i + 1;
      while (j < source.length && source[j] !== '"') j += source[j] === '\\' ? 2 : 1;
      if (j >= source.length) throw new Error(`unterminated string at offset ${i}`);
      tokens.push({ kind: 'string', text: unescapeAlloyString(source.slice(i + 1, j), i), at: i });
      i = j + 1;
    } else if (c === '`') {
      const end = source.indexOf('`', i + 1);
      if (end < 0) throw new Error(`unterminated raw string at offset ${i}`);
      tokens.push({ kind: 'string', text: source.slice(i + 1, end), at: i });
      i = end + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*/.exec(source.slice(i))!;
      tokens.push({ kind: 'ident', text: m[0], at: i });
      i += m[0].length;
    } else if (/[-\d]/.test(c)) {
      const m = /^-?\d+(?:\.\d+)?/.exec(source.slice(i));
      if (!m) throw new Error(`unexpected "${c}" at offset ${i}`);
      tokens.push({ kind: 'number', text: m[0], at: i });
      i += m[0].length;
    } else if ('{}[]=,()'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, at: i });
      i += 1;
    } else {
      throw new Error(`unexpected "${c}" at offset ${i}`);
    }
  }
  return tokens;
}

/** Parses an Alloy configuration into its top-level blocks; throws on anything it does not understand. */
export function parseAlloy(source: string): AlloyBlock[] {
  const tokens = tokenize(source);
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => {
    const t = tokens[pos++];
    if (!t) throw new Error('unexpected end of the configuration');
    return t;
  };
  const expect = (text: string) => {
    const t = next();
    if (t.text !== text || (t.kind !== 'punct' && t.kind !== 'ident')) throw new Error(`expected "${text}" at offset ${t.at}, found "${t.text}"`);
  };

  function value(): AlloyValue {
    const t = next();
    if (t.kind === 'string') return t.text;
    if (t.kind === 'number') return Number(t.text);
    if (t.kind === 'ident') {
      if (t.text === 'true' || t.text === 'false') return t.text === 'true';
      if (t.text === 'null') return null;
      if (peek()?.text === '(') throw new Error(`function calls are not expected here (offset ${t.at})`);
      return { ref: t.text };
    }
    if (t.text === '[') {
      const list: AlloyValue[] = [];
      while (peek()?.text !== ']') {
        list.push(value());
        if (peek()?.text === ',') next();
        else break;
      }
      expect(']');
      return list;
    }
    if (t.text === '{') {
      const object: Record<string, AlloyValue> = {};
      while (peek()?.text !== '}') {
        const key = next();
        if (key.kind !== 'ident' && key.kind !== 'string') throw new Error(`expected an object key at offset ${key.at}`);
        expect('=');
        object[key.text] = value();
        if (peek()?.text === ',') next();
        else break;
      }
      expect('}');
      return object;
    }
    throw new Error(`unexpected "${t.text}" at offset ${t.at}`);
  }

  function body(closing: string | undefined): AlloyBlock {
    const block: AlloyBlock = { name: '', attributes: {}, blocks: [] };
    while (pos < tokens.length && peek().text !== closing) {
      const name = next();
      if (name.kind !== 'ident') throw new Error(`expected an attribute or block name at offset ${name.at}, found "${name.text}"`);
      if (peek()?.text === '=') {
        next();
        block.attributes[name.text] = value();
        continue;
      }
      let label: string | undefined;
      if (peek()?.kind === 'string') label = next().text;
      expect('{');
      const inner = body('}');
      expect('}');
      block.blocks.push({ ...inner, name: name.text, label });
    }
    return block;
  }

  const root = body(undefined);
  if (Object.keys(root.attributes).length) throw new Error('attributes outside of a block');
  return root.blocks;
}

// ---- One shape for both shippers' pipelines ----

export interface Pipeline {
  /** file glob the shipper tails, inside the container */
  path: string;
  /** where the lines are pushed */
  pushUrl: string;
  /** regex of lines dropped before parsing */
  drop: string;
  /** extracted name → JSON path */
  json: Record<string, string>;
  /** extracted name → text/template that rewrites it */
  templates: Record<string, string>;
  timestamp: { source: string; format: string };
  /** label name → extracted name */
  labels: Record<string, string>;
  labelDrop: string[];
}

export function promtailPipeline(file = join(OBSERVABILITY, 'promtail.yaml')): Pipeline {
  const config = parseYaml(readFileSync(file, 'utf8'));
  const [scrape] = config.scrape_configs;
  const stages: Record<string, any>[] = scrape.pipeline_stages;
  const stage = (name: string) => stages.filter((s) => name in s).map((s) => s[name]);
  const one = (name: string) => {
    const found = stage(name);
    if (found.length !== 1) throw new Error(`promtail: expected one ${name} stage, found ${found.length}`);
    return found[0];
  };
  assertOrder(
    'promtail',
    stages.map((s) => Object.keys(s)[0]),
  );
  const named = (map: Record<string, string | null>) => Object.fromEntries(Object.entries(map ?? {}).map(([k, v]) => [k, v || k]));
  return {
    path: scrape.static_configs.flatMap((c: any) => c.labels.__path__)[0],
    pushUrl: config.clients[0].url,
    drop: one('drop').expression,
    json: named(one('json').expressions),
    templates: Object.fromEntries(stage('template').map((t) => [t.source, t.template])),
    timestamp: { source: one('timestamp').source, format: one('timestamp').format },
    labels: named(one('labels')),
    labelDrop: stage('labeldrop').flat(),
  };
}

export function alloyPipeline(file = join(OBSERVABILITY, 'config.alloy')): Pipeline {
  const blocks = parseAlloy(readFileSync(file, 'utf8'));
  const find = (name: string) => {
    const found = blocks.filter((b) => b.name === name);
    if (found.length !== 1) throw new Error(`alloy: expected one ${name} block, found ${found.length}`);
    return found[0];
  };
  const match = find('local.file_match');
  const source = find('loki.source.file');
  const process = find('loki.process');
  const write = find('loki.write');
  const ref = (v: AlloyValue | undefined) => (v && typeof v === 'object' && 'ref' in v ? (v.ref as string) : undefined);
  // The components must be wired file_match → source.file → process → write.
  if (ref(source.attributes.targets) !== `local.file_match.${match.label}.targets`) throw new Error('alloy: loki.source.file does not read local.file_match');
  const forward = (b: AlloyBlock) => ((b.attributes.forward_to as AlloyValue[]) ?? []).map(ref);
  if (forward(source)[0] !== `loki.process.${process.label}.receiver`) throw new Error('alloy: loki.source.file does not forward to loki.process');
  if (forward(process)[0] !== `loki.write.${write.label}.receiver`) throw new Error('alloy: loki.process does not forward to loki.write');
  const stages = process.blocks;
  const one = (name: string) => {
    const found = stages.filter((s) => s.name === name);
    if (found.length !== 1) throw new Error(`alloy: expected one ${name} block, found ${found.length}`);
    return found[0].attributes as Record<string, any>;
  };
  assertOrder(
    'alloy',
    stages.map((s) => s.name.replace(/^stage\./, '')),
  );
  const named = (map: Record<string, string>) => Object.fromEntries(Object.entries(map ?? {}).map(([k, v]) => [k, v || k]));
  const targets = match.attributes.path_targets as Array<Record<string, string>>;
  return {
    path: targets[0].__path__,
    pushUrl: (write.blocks.find((b) => b.name === 'endpoint')!.attributes.url as string) ?? '',
    drop: one('stage.drop').expression,
    json: named(one('stage.json').expressions),
    templates: Object.fromEntries(stages.filter((s) => s.name === 'stage.template').map((s) => [s.attributes.source, s.attributes.template])),
    timestamp: { source: one('stage.timestamp').source, format: one('stage.timestamp').format },
    labels: named(one('stage.labels').values),
    labelDrop: stages.filter((s) => s.name === 'stage.label_drop').flatMap((s) => s.attributes.values as string[]),
  };
}

/** The stages a line needs, in the order it needs them: drop non-JSON, parse, take the timestamp, label. */
function assertOrder(shipper: string, names: string[]) {
  const positions = ['drop', 'json', 'timestamp', 'labels'].map((name) => names.indexOf(name));
  if (positions.some((p, i) => p < 0 || (i > 0 && p < positions[i - 1]))) {
    throw new Error(`${shipper}: stages missing or out of order: ${names.join(', ')}`);
  }
}

// ---- Running a pipeline over a line ----

export interface Shipped {
  labels: Record<string, string>;
  /** epoch ms the entry is stored under */
  timestamp: number;
  line: string;
}

/** Go's RFC3339 / RFC3339Nano layouts (parsing accepts fractional seconds for both). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * What the shipper sends to Loki for one line, or undefined when it drops it. Implements the subset of
 * stages the configs use; JSON paths are plain keys, templates the `if .Value` default form.
 */
export function ship(pipeline: Pipeline, line: string): Shipped | undefined {
  if (new RegExp(pipeline.drop).test(line)) return undefined;
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(line);
  } catch {
    json = {}; // the json stage leaves the extracted map empty on a parse failure
  }
  const extracted: Record<string, string | undefined> = {};
  for (const [name, path] of Object.entries(pipeline.json)) {
    const v = json[path];
    if (v !== undefined && v !== null) extracted[name] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  for (const [source, template] of Object.entries(pipeline.templates)) {
    const m = /^\{\{ if \.Value \}\}\{\{ \.Value \}\}\{\{ else \}\}([^{}]+)\{\{ end \}\}$/.exec(template);
    if (!m) throw new Error(`template stage not understood: ${template}`);
    extracted[source] = extracted[source] || m[1];
  }
  const ts = extracted[pipeline.timestamp.source];
  if (!/^RFC3339(Nano)?$/.test(pipeline.timestamp.format)) throw new Error(`timestamp format ${pipeline.timestamp.format} is not RFC3339`);
  const timestamp = ts && RFC3339.test(ts) ? Date.parse(ts) : Date.now();
  const labels: Record<string, string> = {};
  for (const [label, source] of Object.entries(pipeline.labels)) {
    const v = extracted[source];
    if (v) labels[label] = v;
  }
  for (const name of pipeline.labelDrop) delete labels[name];
  return { labels, timestamp, line };
}
