// The settings schema: every setting a service (or the local runner) reads is declared once, with its variable, type,
// range, default per stage, description and the functions that read it. The services read their settings through it;
// the runner validates every schema before it starts anything; .env.example, docs/configuration.md and the
// environment blocks of both serverless.yml are generated from it or checked against it (test/docs/settings.test.ts).
import { ConfigError, parseChoice, parseIamRole, parseInteger, parseList, parseSecret, parseUrl, type Env } from './env';
import { isLocal, stageName } from './stage';

/** A default the local runtime supplies on a local stage (an embedded Postgres URL, a generated secret). */
export interface FromLocalRuntime {
  readonly fromLocalRuntime: string;
}
export const fromLocalRuntime = (what: string): FromLocalRuntime => ({ fromLocalRuntime: what });

/** No default: the variable must be set (on the stages where this stands). */
export const REQUIRED = Object.freeze({ required: true as const });

type StageDefault<T> = T | FromLocalRuntime | typeof REQUIRED;

/** A default computed from other variables (documented by `text`). */
export interface Derived<T> {
  readonly derivedFrom: string;
  derive(env: Env): T;
}
export const derived = <T>(text: string, derive: (env: Env) => T): Derived<T> => ({ derivedFrom: text, derive });

/**
 * Where a setting lives: `packaged` ones are in the environment block of every function that reads it (serverless.yml);
 * `local` ones exist only under the local runtime (never in a packaged template); `internal` ones are set by the local
 * runner for its own processes (not for .env); `platform` ones are set by the runtime itself (serverless-offline, Node).
 */
export type Scope = 'packaged' | 'local' | 'internal' | 'platform';

export interface ParseContext {
  stage: string;
  local: boolean;
}

export interface SettingSpec<T = unknown> {
  readonly variable: string;
  /** The accepted values in words: "an integer from 4 to 15". */
  readonly accepts: string;
  readonly description: string;
  /** The functions (serverless.yml keys) that read it; `runner` for the local runner. */
  readonly readBy: readonly string[];
  readonly defaults: { local: StageDefault<T>; deployed: StageDefault<T> } | Derived<T>;
  readonly secret: boolean;
  readonly scope: Scope;
  /** How serverless.yml sets it when not from a variable of the same name (`${sls:stage}`): not a setting for .env then. */
  readonly packagedAs?: string;
  parse(raw: string, context: ParseContext): T;
}

interface Options<T> {
  description: string;
  readBy: readonly string[];
  /** One default for every stage, one per stage, or derived from other variables. Omitted: required. */
  default?: T | { local: StageDefault<T>; deployed: StageDefault<T> } | Derived<T>;
  scope?: Scope;
  packagedAs?: string;
}

function isStageDefaults<T>(value: unknown): value is { local: StageDefault<T>; deployed: StageDefault<T> } {
  return typeof value === 'object' && value !== null && 'local' in value && 'deployed' in value;
}

function setting<T>(variable: string, options: Options<T>, accepts: string, parse: SettingSpec<T>['parse'], secret = false): SettingSpec<T> {
  const given = options.default;
  const defaults =
    given === undefined
      ? { local: REQUIRED, deployed: REQUIRED }
      : isStageDefaults<T>(given) || (typeof given === 'object' && given !== null && 'derivedFrom' in given)
        ? (given as SettingSpec<T>['defaults'])
        : { local: given as T, deployed: given as T };
  const { description, readBy, scope = 'packaged', packagedAs } = options;
  return { variable, accepts, description, readBy, defaults, secret, scope, packagedAs, parse };
}

export const integer = (variable: string, options: Options<number> & { min: number; max: number }) =>
  setting(variable, options, `an integer from ${options.min} to ${options.max}`, (raw) => parseInteger(variable, raw, options.min, options.max));

export const text = (variable: string, options: Options<string>) => setting(variable, options, 'any text', (raw) => raw);

export const list = (variable: string, options: Options<string[]>) => setting(variable, options, 'a comma- or space-separated list', (raw) => parseList(raw));

export const choice = <T extends string>(variable: string, options: Options<T> & { values: readonly T[] }) =>
  setting(variable, options, `one of ${options.values.join(', ')}`, (raw) => parseChoice(variable, raw, options.values));

/** An http(s) URL without its trailing slashes. */
export const httpUrl = (variable: string, options: Options<string>) =>
  setting(variable, options, 'an http(s) URL', (raw) => (parseUrl(variable, raw, ['http', 'https']), raw.replace(/\/+$/, '')));

/** A secret of at least `minBytes`; its value never appears in a message. */
export const secret = (variable: string, options: Options<string> & { minBytes: number }) =>
  setting(variable, options, `a secret of at least ${options.minBytes} bytes`, (raw) => parseSecret(variable, raw, options.minBytes), true);

/** An IAM role's ARN (the raw ARN; parseIamRole splits it), or empty where the default says so. */
export const iamRoleArn = (variable: string, options: Options<string>) =>
  setting(variable, options, 'an IAM role ARN (arn:aws:iam::<account>:role/<name>)', (raw) => (parseIamRole(variable, raw), raw));

/** A URL holding credentials (a database URL): checked by `check`, never quoted in a message. */
export const credentialUrl = (
  variable: string,
  options: Options<string> & { protocols: readonly string[]; accepts: string; check?: (url: URL, context: ParseContext) => string | undefined },
) =>
  setting(
    variable,
    options,
    options.accepts,
    (raw, context) => {
      const url = parseUrl(variable, raw, options.protocols, true);
      const problem = options.check?.(url, context);
      if (problem) throw new ConfigError(variable, `${variable} ${problem}`);
      return raw;
    },
    true,
  );

export type Specs = Record<string, SettingSpec>;
export type Values<S extends Specs> = { readonly [K in keyof S]: S[K] extends SettingSpec<infer T> ? T : never };
/** What the local runtime supplies for `fromLocalRuntime` defaults, by variable. */
export type LocalProviders = Partial<Record<string, (env: Env) => string>>;

/** One setting's value for the environment's stage; throws its ConfigError. Without `providers`, a local-runtime default reads as undefined. */
export function resolveSetting<T>(spec: SettingSpec<T>, env: Env, providers?: LocalProviders): T | undefined {
  const context = { stage: stageName(env), local: isLocal(env) };
  const raw = env[spec.variable];
  if (raw !== undefined && raw !== '') return spec.parse(raw, context);
  if ('derive' in spec.defaults) return spec.defaults.derive(env);
  const fallback = context.local ? spec.defaults.local : spec.defaults.deployed;
  if (fallback === REQUIRED) throw new ConfigError(spec.variable, `${spec.variable} must be set for stage "${context.stage}"`);
  if (typeof fallback === 'object' && fallback !== null && 'fromLocalRuntime' in fallback) {
    if (!providers) return undefined;
    const provide = providers[spec.variable];
    if (!provide) throw new ConfigError(spec.variable, `${spec.variable} is not set, and nothing provides it on stage "${context.stage}"`);
    return spec.parse(provide(env), context);
  }
  return fallback as T;
}

export interface Schema<S extends Specs> {
  /** Whose settings these are (`app-backend`, `weather-service`, `runner`). */
  readonly service: string;
  readonly specs: S;
  /** Every setting read at once (tests, and the runner's view of its own settings); throws the first ConfigError. */
  read(env: Env, providers?: LocalProviders): Values<S>;
  /** Every bad setting in `env` (the local runtime's defaults are taken as given). */
  problems(env: Env): ConfigError[];
  /** The keys of the settings a function reads. */
  readBy(fn: string): (keyof S)[];
}

/** A schema of any settings (lists of schemas: the docs, the runner's checks). */
export interface AnySchema {
  readonly service: string;
  readonly specs: Specs;
  problems(env: Env): ConfigError[];
}

export function defineSettings<S extends Specs>(service: string, specs: S): Schema<S> {
  const keys = Object.keys(specs) as (keyof S)[];
  return {
    service,
    specs,
    read(env, providers = {}) {
      return Object.fromEntries(keys.map((key) => [key, resolveSetting(specs[key], env, providers)])) as Values<S>;
    },
    problems(env) {
      return keys.flatMap((key) => {
        try {
          resolveSetting(specs[key], env);
          return [];
        } catch (err) {
          if (err instanceof ConfigError) return [err];
          throw err;
        }
      });
    },
    readBy: (fn) => keys.filter((key) => specs[key].readBy.includes(fn)),
  };
}

export interface LoaderOptions {
  providers?: LocalProviders;
  /** Called once per bad setting (the first time it is read), never with its value. */
  report(err: ConfigError): void;
}

export interface Loaded<S extends Specs> {
  /** The settings; each is read and validated on first use, then kept for the life of the process. */
  (): Values<S>;
  /** Reads every setting the functions `fns` use (a first invocation): the first bad one throws its ConfigError (answered 503). */
  check(...fns: string[]): void;
}

/**
 * A service's settings for the life of its process, read from process.env on first use (tests and the local runner set
 * the environment after import; an exception at import would fail every Lambda cold start). A bad one is reported once.
 */
export function settingsLoader<S extends Specs>(schema: Schema<S>, options: LoaderOptions): Loaded<S> {
  const known = new Map<keyof S, { value: unknown } | { error: unknown }>();
  const get = (key: keyof S) => {
    let entry = known.get(key);
    if (!entry) {
      try {
        entry = { value: resolveSetting(schema.specs[key], process.env, options.providers ?? {}) };
      } catch (error) {
        entry = { error };
        if (error instanceof ConfigError) options.report(error);
      }
      known.set(key, entry);
    }
    if ('error' in entry) throw entry.error;
    return entry.value;
  };
  const values = Object.defineProperties(
    {},
    Object.fromEntries(Object.keys(schema.specs).map((key) => [key, { enumerable: true, get: () => get(key) }])),
  ) as Values<S>;
  const checked = new Set<string>();
  const loaded = (() => values) as Loaded<S>;
  loaded.check = (...fns) => {
    for (const fn of fns) {
      if (checked.has(fn)) continue;
      for (const key of schema.readBy(fn)) get(key);
      checked.add(fn);
    }
  };
  return loaded;
}
