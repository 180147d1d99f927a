// Helpers to create real users through the real handlers.
import { randomBytes } from 'node:crypto';
import { handler as registerHandler } from '../../functions/auth/register';
import { handler as tokenHandler } from '../../functions/auth/token';
import { invoke } from './lambda';

export const uniqueName = (prefix = 'u') => `${prefix}_${randomBytes(6).toString('hex')}`;

export interface TestUser {
  id: string;
  username: string;
  password: string;
  token: string;
  auth: { authorization: string };
}

export async function createUser(prefix = 'u'): Promise<TestUser> {
  const username = uniqueName(prefix);
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const registered = await invoke(registerHandler, { method: 'POST', path: '/register', body: { username, password } });
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${registered.text}`);
  const issued = await invoke(tokenHandler, { method: 'POST', path: '/token', form: { username, password } });
  if (issued.status !== 200) throw new Error(`token failed: ${issued.status} ${issued.text}`);
  const token = issued.json.access_token as string;
  return { id: registered.json.id, username, password, token, auth: { authorization: `Bearer ${token}` } };
}
