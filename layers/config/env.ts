// Readers for environment settings: each validates one variable and names it when it is wrong (never its value if secret).
import { HttpProblem } from '../problems';

export type Env = NodeJS.ProcessEnv;

/** A setting is missing or malformed; `variable` names it, the message never carries a secret's value. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `${name} must be an integer between ${min} and ${max}, got "${raw.slice(0, 40)}"`);
  }
  return value;
}

/** A URL without its trailing slashes; an empty fallback means "no default". */
export function url(env: Env, name: string, fallback: string): string {
  const raw = env[name] || fallback;
  if (raw === '') return raw;
  try {
    new URL(raw);
  } catch {
    throw new ConfigError(name, `${name} is not a valid URL`);
  }
  return raw.replace(/\/+$/, '');
}

export function text(env: Env, name: string, fallback: string): string {
  return env[name] || fallback;
}

/** A value without a default: its absence is named for the stage (never its value: it may be a secret). */
export function required(env: Env, name: string, stage: string): string {
  const value = env[name] || '';
  if (!value) throw new ConfigError(name, `${name} must be set for stage "${stage}"`);
  return value;
}

/** An IAM role, as its ARN names it (`arn:aws:iam::<account>:role/[path/]<name>`). */
export interface IamRole {
  partition: string;
  accountId: string;
  name: string;
}

export function iamRole(env: Env, name: string, stage: string): IamRole {
  const raw = required(env, name, stage);
  const match = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/.exec(raw);
  if (!match) throw new ConfigError(name, `${name} must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), got "${raw.slice(0, 100)}"`);
  return { partition: match[1], accountId: match[2], name: match[3] };
}

/** A secret of at least `minBytes`; `generate` supplies one when unset (stage local only), else it is required. */
export function secret(env: Env, name: string, options: { minBytes: number; stage: string; generate?: () => string }): string {
  const value = env[name] || options.generate?.() || '';
  if (!value) throw new ConfigError(name, `${name} must be set for stage "${options.stage}"`);
  if (Buffer.byteLength(value) < options.minBytes) throw new ConfigError(name, `${name} must be at least ${options.minBytes} bytes long`);
  return value;
}

export interface Loaded<T> {
  /** The settings; throws the service's ConfigError (answered 503) when they are invalid. */
  (): T;
}

// serverless-offline loads every function's bundle (each with its own copy of this module) into one process: the
// reports already made live on globalThis, so a bad setting is reported once per process, not once per function.
const REPORTED = Symbol.for('platform.config.reported');
type Global = typeof globalThis & { [REPORTED]?: Set<string> };

function firstReport(err: ConfigError): boolean {
  const reported = ((globalThis as Global)[REPORTED] ??= new Set());
  const key = `${err.variable}: ${err.message}`;
  if (reported.has(key)) return false;
  reported.add(key);
  return true;
}

/**
 * Reads a service's settings once per process, on first use (tests and the local runner set the environment
 * after import; an exception at import would fail every Lambda cold start). An invalid setting is reported once.
 */
export function settingsOnce<T>(read: () => T, report: (err: ConfigError) => void): Loaded<T> {
  let result: { settings: T } | { error: unknown } | undefined;
  return () => {
    if (!result) {
      try {
        result = { settings: read() };
      } catch (error) {
        result = { error };
        if (error instanceof ConfigError && firstReport(error)) report(error);
      }
    }
    if ('error' in result) throw result.error;
    return result.settings;
  };
}

/** For a service's error registry: bad settings are answered 503 (the details went to the log once). */
export const configProblem = (err: unknown): HttpProblem | undefined =>
  err instanceof ConfigError ? new HttpProblem(503, 'the service is not configured; the operator has been told in the logs') : undefined;
