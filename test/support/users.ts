// Helpers to create real users and log in through the real handlers.
import { randomBytes } from 'node:crypto';
import { handler as registerHandler } from '../../functions/auth/register';
import { handler as tokenHandler } from '../../functions/auth/token';
import { invoke, type Answer } from './lambda';

export const uniqueName = (prefix = 'u') => `${prefix}_${randomBytes(6).toString('hex')}`;

export interface TestUser {
  id: string;
  username: string;
  password: string;
  token: string;
  /** the device token of its first login */
  deviceToken: string;
  auth: { authorization: string };
}

export interface LoginOptions {
  /** the client's address (requestContext.http.sourceIp); default: a fresh one per call */
  from?: string;
  /** sent as the form field device_token */
  deviceToken?: string;
  /** Cookie values sent with the request (event.cookies) */
  cookies?: string[];
  headers?: Record<string, string>;
}

/** POST /token with a form body, as a browser or an OAuth2 client sends it. */
export function login(username: string, password: string, options: LoginOptions = {}): Promise<Answer> {
  const form = { username, password, ...(options.deviceToken !== undefined ? { device_token: options.deviceToken } : {}) };
  return invoke(tokenHandler, { method: 'POST', path: '/token', form, sourceIp: options.from, cookies: options.cookies, headers: options.headers });
}

export async function registerUser(username: string, password: string): Promise<string> {
  const registered = await invoke(registerHandler, { method: 'POST', path: '/register', body: { username, password } });
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${registered.text}`);
  return registered.json.id as string;
}

export async function createUser(prefix = 'u'): Promise<TestUser> {
  const username = uniqueName(prefix);
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const id = await registerUser(username, password);
  const issued = await login(username, password);
  if (issued.status !== 200) throw new Error(`token failed: ${issued.status} ${issued.text}`);
  const token = issued.json.access_token as string;
  return { id, username, password, token, deviceToken: issued.json.device_token, auth: { authorization: `Bearer ${token}` } };
}
