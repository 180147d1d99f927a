// .env.example and the settings tables of docs/configuration.md and the README, rendered from the settings schemas
// (`npm run settings` writes them; test/docs/settings.test.ts fails when a committed copy differs).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AnySchema, SettingSpec } from '../layers/config/schema';
import { ALL_SCHEMAS } from './settings';

export const ROOT = resolve(__dirname, '..');

const TITLES: Record<string, string> = {
  'app-backend': 'the app backend (`functions/settings.ts`)',
  'weather-service': 'the weather service (`functions/weather/settings.ts`)',
  runner: 'the local runner (`npm start`, `npm run dev`, `npm run db`, `npm run migrate`: `local/settings.ts`)',
  haproxy: 'the edge (HAProxy reads these from its environment; the runner validates them)',
  'serverless-offline': 'serverless-offline run by hand (`sls offline start`; the runner sets these for its instances)',
  packaging: 'packaging (`sls package` / `deploy`: both serverless.yml)',
  'grafana stack': 'the optional Grafana stack (`local/observability/compose.yml`)',
};

const show = (value: unknown): string => (Array.isArray(value) ? value.join(',') : String(value));
const isProvided = (value: unknown): value is { fromLocalRuntime: string } => typeof value === 'object' && value !== null && 'fromLocalRuntime' in value;
const isRequired = (value: unknown) => typeof value === 'object' && value !== null && 'required' in value;

function stageDefault(value: unknown): string {
  if (isRequired(value)) return '**required**';
  if (isProvided(value)) return value.fromLocalRuntime;
  return show(value) === '' ? 'empty' : `\`${show(value)}\``;
}

/** The default as the tables state it. */
export function defaultText(spec: SettingSpec): string {
  const { defaults } = spec;
  if ('derivedFrom' in defaults) return defaults.derivedFrom;
  const [local, deployed] = [stageDefault(defaults.local), stageDefault(defaults.deployed)];
  if (local === deployed) return local;
  return `local: ${local}; otherwise ${deployed}`;
}

/** The value a local run takes when unset, as `.env.example` shows it (empty when it is computed or provided). */
function localValue(spec: SettingSpec): string {
  const { defaults } = spec;
  if ('derivedFrom' in defaults || isProvided(defaults.local) || isRequired(defaults.local)) return '';
  return show(defaults.local);
}

/** Settings a user may put in .env: not set by a platform nor by serverless.yml itself. */
export const isForDotenv = (spec: SettingSpec) => spec.scope !== 'platform' && spec.scope !== 'internal' && spec.packagedAs === undefined;

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

export function tableRows(schema: AnySchema): string[] {
  return Object.values(schema.specs).map((spec) => {
    const readers = spec.readBy.length > 0 ? `; read by ${spec.readBy.map((r) => `\`${r}\``).join(', ')}` : '';
    return `| \`${spec.variable}\` | ${defaultText(spec)} | ${oneLine(spec.description)} (${spec.accepts}${readers}) |`;
  });
}

export function renderTable(schema: AnySchema): string {
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...tableRows(schema)].join('\n');
}

export function renderEnvExample(): string {
  const seen = new Set<string>();
  const sections = ALL_SCHEMAS.map((schema) => {
    const entries = Object.values(schema.specs)
      .filter((spec) => isForDotenv(spec) && !seen.has(spec.variable))
      .map((spec) => {
        seen.add(spec.variable);
        const value = localValue(spec);
        const unset = value === '' && defaultText(spec) !== 'empty' ? `; unset: ${defaultText(spec)}` : '';
        return `# ${oneLine(spec.description)} (${spec.accepts}${unset})`.replace(/`|\*\*/g, '') + `\n#${spec.variable}=${value}`;
      });
    return entries.length ? `# --- ${TITLES[schema.service].replace(/`/g, '')} ---\n${entries.join('\n')}` : '';
  });
  const header = [
    '# Every setting a local run reads, with its default (generated from the settings schemas by `npm run settings`).',
    '# Copy to .env and uncomment what you change; the real environment wins over the file. docs/configuration.md',
    '# says what each one does and which functions read it.',
  ];
  return `${[header.join('\n'), ...sections.filter(Boolean)].join('\n\n')}\n`;
}

/** The part of a markdown file between `<!-- settings:NAME -->` and `<!-- /settings:NAME -->`. */
const marked = (name: string) => new RegExp(`(<!-- settings:${name} -->\\n)[\\s\\S]*?(<!-- /settings:${name} -->)`);

/** docs/configuration.md with every schema's table rendered between its markers. */
export function renderConfigurationDoc(current: string): string {
  let text = current;
  for (const schema of ALL_SCHEMAS) {
    const name = schema.service.replace(/ /g, '-');
    if (!marked(name).test(text)) throw new Error(`docs/configuration.md has no <!-- settings:${name} --> markers`);
    text = text.replace(marked(name), (_m, open: string, close: string) => `${open}${renderTable(schema)}\n${close}`);
  }
  return text;
}

/** The settings a newcomer meets first, in the README's short table (default and meaning from the schemas). */
export const README_SETTINGS = [
  'PORT',
  'HAPROXY_ADDRESS',
  'STATS_PORT',
  'WEATHER_HTTP_PORT',
  'BACKEND_REPLICAS',
  'WEATHER_REPLICAS',
  'DATABASE_URL',
  'WEATHER_DATABASE_URL',
  'LOCAL_STATE_DIR',
  'OPENWEATHER_API_KEY',
  'OPENWEATHER_BASE_URL',
  'WEATHER_CACHE_TTL_SECONDS',
  'OPENWEATHER_CALLS_PER_MINUTE',
  'JWT_SECRET',
  'JWT_TTL_SECONDS',
  'BCRYPT_COST',
  'RATE_LIMIT_AUTH_REQUESTS',
  'RATE_LIMIT_AUTH_WINDOW_SECONDS',
  'RATE_LIMIT_WEATHER_REQUESTS',
  'RATE_LIMIT_WEATHER_WINDOW_SECONDS',
  'CORS_ORIGINS',
  'MAX_BODY_BYTES',
  'LOG_LEVEL',
  'INSTANCE_MAX_OLD_SPACE_MB',
];

function specOf(variable: string): SettingSpec {
  for (const schema of ALL_SCHEMAS) for (const spec of Object.values(schema.specs)) if (spec.variable === variable) return spec;
  throw new Error(`no schema declares ${variable}`);
}

/** The README with its settings table rendered between its markers. */
export function renderReadme(current: string): string {
  const rows = README_SETTINGS.map((variable) => {
    const spec = specOf(variable);
    return `| \`${variable}\` | ${defaultText(spec)} | ${oneLine(spec.description).split(/[;(]/)[0].trim()} |`;
  });
  const table = ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
  if (!marked('readme').test(current)) throw new Error('README.md has no <!-- settings:readme --> markers');
  return current.replace(marked('readme'), (_m, open: string, close: string) => `${open}${table}\n${close}`);
}

/** Each generated file: its path and its content as the schemas render it. */
export function renderedFiles(): { file: string; content: string }[] {
  const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
  return [
    { file: '.env.example', content: renderEnvExample() },
    { file: 'docs/configuration.md', content: renderConfigurationDoc(read('docs/configuration.md')) },
    { file: 'README.md', content: renderReadme(read('README.md')) },
  ];
}
