// The parsers of environment values (the one integer, URL, secret and list parser of the whole project), and the
// error every one of them raises: it names the variable, what is wrong and what is accepted, never a secret's value.
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

/** How a refused value is quoted in a message: a secret's never is. */
const quoted = (raw: string, secret: boolean) => (secret ? 'a value that is not shown' : `"${raw.slice(0, 40)}${raw.length > 40 ? '…' : ''}"`);

export function parseInteger(name: string, raw: string, min: number, max: number): number {
  const value = /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `${name} must be an integer from ${min} to ${max}, got ${quoted(raw, false)}`);
  }
  return value;
}

/** An absolute http(s) or postgres(ql) URL, without its trailing slashes. */
export function parseUrl(name: string, raw: string, protocols: readonly string[], secret = false): URL {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `${name} must be an absolute URL (${protocols.join(' or ')}), got ${quoted(raw, secret)}`);
  }
  if (!protocols.includes(parsed.protocol.replace(/:$/, ''))) {
    throw new ConfigError(name, `${name} must be a ${protocols.join(' or ')} URL, got one starting "${parsed.protocol}"`);
  }
  return parsed;
}

export function parseSecret(name: string, raw: string, minBytes: number): string {
  if (Buffer.byteLength(raw) < minBytes) throw new ConfigError(name, `${name} must be at least ${minBytes} bytes long`);
  return raw;
}

export function parseChoice<T extends string>(name: string, raw: string, values: readonly T[]): T {
  const value = values.find((v) => v.toLowerCase() === raw.trim().toLowerCase());
  if (!value) throw new ConfigError(name, `${name} must be one of ${values.join(', ')}, got ${quoted(raw, false)}`);
  return value;
}

/** A comma- or space-separated list. */
export const parseList = (raw: string): string[] => raw.split(/[\s,]+/).filter(Boolean);

/** An IAM role, as its ARN names it (`arn:aws:iam::<account>:role/[path/]<name>`). */
export interface IamRole {
  partition: string;
  accountId: string;
  name: string;
}

export function parseIamRole(name: string, raw: string): IamRole {
  const match = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/.exec(raw);
  if (!match) throw new ConfigError(name, `${name} must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), got ${quoted(raw, false)}`);
  return { partition: match[1], accountId: match[2], name: match[3] };
}
