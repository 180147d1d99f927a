// One schema for every setting: .env.example and the tables of docs/configuration.md and the README are what the schemas
// render, each function's environment in both serverless.yml holds exactly the settings it reads with the schema's
// defaults, and haproxy.cfg's fallbacks are the schema's defaults. Any disagreement fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BACKEND_FUNCTIONS, BACKEND_SETTINGS } from '../../functions/settings';
import { WEATHER_FUNCTIONS, WEATHER_SETTINGS } from '../../functions/weather/settings';
import type { AnySchema, SettingSpec } from '../../layers/config/schema';
import { renderedFiles, ROOT } from '../../local/settings-docs';
import { ALL_SCHEMAS } from '../../local/settings';

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

interface ServerlessFile {
  provider: { environment?: Record<string, string> };
  custom: Record<string, unknown>;
  functions: Record<string, { environment?: Record<string, string> }>;
}
const SERVICES = [
  { file: 'serverless.yml', schema: BACKEND_SETTINGS, functions: BACKEND_FUNCTIONS },
  { file: 'functions/weather/serverless.yml', schema: WEATHER_SETTINGS, functions: WEATHER_FUNCTIONS },
] as const;
const serverless = (file: string) => parse(read(file), { merge: true }) as ServerlessFile;

const specs = (schema: AnySchema): SettingSpec[] => Object.values(schema.specs);
const every = ALL_SCHEMAS.flatMap(specs);
const isRequired = (value: unknown) => typeof value === 'object' && value !== null && 'required' in value;
const isProvided = (value: unknown) => typeof value === 'object' && value !== null && 'fromLocalRuntime' in value;
const literal = (value: unknown) => (Array.isArray(value) ? value.join(',') : String(value));

/** What serverless.yml must say for a setting (one of these forms). */
function expectedForms(spec: SettingSpec, custom: Record<string, unknown>): (value: string) => boolean {
  const name = spec.variable;
  if (spec.packagedAs !== undefined) return (value) => value === spec.packagedAs;
  const { defaults } = spec;
  // Required outside local: the environment wins, empty on stage local, else a deploy-time source (SSM, a stack's export).
  const secretForm = new RegExp(
    `^\\$\\{env:${name}, self:custom\\.unset\\.\\$\\{sls:stage\\}, (ssm:/weather-users/\\$\\{sls:stage\\}/[a-z-]+|cf:.+|self:custom\\.\\w+)\\}$`,
  );
  if ('derivedFrom' in defaults) return (value) => value === `\${env:${name}, ''}`;
  if (isRequired(defaults.deployed) || (spec.secret && !isProvided(defaults.local)))
    return (value) => secretForm.test(value) || value === `\${env:${name}, ''}`;
  const deployed = literal(defaults.deployed);
  const local = literal(defaults.local);
  if (local !== deployed) {
    // ${env:NAME, self:custom.<group>.${sls:stage}, '<deployed>'} with custom.<group>.local = the local default
    return (value) => {
      const m = new RegExp(`^\\$\\{env:${name}, self:custom\\.(\\w+)\\.\\$\\{sls:stage\\}, '([^']*)'\\}$`).exec(value);
      return Boolean(m && m[2] === deployed && String((custom[m[1]] as Record<string, unknown> | undefined)?.local) === local);
    };
  }
  // The schema's default, or empty (the function then takes the schema's own).
  return (value) => value === `\${env:${name}, '${deployed}'}` || value === `\${env:${name}, ''}`;
}

describe('the settings schemas', () => {
  test.each(renderedFiles().map((f) => [f.file, f.content]))('%s is what the schemas render (npm run settings)', (file, content) => {
    expect(read(file)).toBe(content);
  });

  test.each(SERVICES.flatMap((s) => s.functions.map((fn) => [s.file, fn, s] as const)))(
    '%s: %s holds exactly the settings it reads, with the schema defaults',
    (file, fn, service) => {
      const doc = serverless(file);
      const env = { ...doc.provider.environment, ...doc.functions[fn].environment };
      const wanted = specs(service.schema).filter((spec) => spec.scope === 'packaged' && spec.readBy.includes(fn));
      expect(Object.keys(env).sort()).toEqual(wanted.map((spec) => spec.variable).sort());
      const wrong = wanted.filter((spec) => !expectedForms(spec, doc.custom)(String(env[spec.variable])));
      expect(wrong.map((spec) => `${spec.variable}: ${env[spec.variable]}`)).toEqual([]);
    },
  );

  test('each function the schemas name is a function of its serverless.yml', () => {
    for (const { file, schema, functions } of SERVICES) {
      expect(Object.keys(serverless(file).functions).sort()).toEqual([...functions].sort());
      const named = new Set(specs(schema).flatMap((spec) => spec.readBy));
      const unknown = [...named].filter(
        (reader) => !(functions as readonly string[]).includes(reader) && !/^(runner|haproxy|npm |every function)/.test(reader),
      );
      expect(unknown).toEqual([]);
    }
  });

  test("haproxy.cfg's fallbacks are the schema's defaults, and every variable it reads is declared", () => {
    const config = read('haproxy.cfg').replace(/^\s*#.*$/gm, '');
    const fallbacks = [...config.matchAll(/\$\{([A-Z][A-Z0-9_]+)-([^}]*)\}/g)].map((m) => [m[1], m[2]] as const);
    expect(fallbacks.length).toBeGreaterThan(10);
    const byName = new Map(every.map((spec) => [spec.variable, spec]));
    const wrong = fallbacks.filter(([name, fallback]) => {
      const spec = byName.get(name);
      if (!spec || 'derivedFrom' in spec.defaults) return true;
      return literal(spec.defaults.local) !== fallback;
    });
    expect(wrong).toEqual([]);
  });

  test('every variable both serverless.yml and the compose file read is declared', () => {
    const declared = new Set(every.map((spec) => spec.variable));
    const text = SERVICES.map((s) => read(s.file)).join('\n') + read('local/observability/compose.yml');
    const used = new Set([...text.matchAll(/\$\{env:([A-Z][A-Z0-9_]+)/g), ...text.matchAll(/\$\{([A-Z][A-Z0-9_]+)(?::-|-|\})/g)].map((m) => m[1]));
    expect([...used].filter((name) => !declared.has(name))).toEqual([]);
  });

  test('a variable declared by several schemas has one default and one range', () => {
    const seen = new Map<string, SettingSpec>();
    const differ: string[] = [];
    for (const spec of every) {
      const first = seen.get(spec.variable);
      // Each service's logger names itself.
      if (spec.variable === 'POWERTOOLS_SERVICE_NAME') continue;
      if (!first) seen.set(spec.variable, spec);
      else if (JSON.stringify(first.defaults) !== JSON.stringify(spec.defaults) || first.accepts !== spec.accepts) differ.push(spec.variable);
    }
    expect(differ).toEqual([]);
  });
});
