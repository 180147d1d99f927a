// HAProxy's stats page as CSV (`<stats url>;csv`): one row per frontend, backend and server, read by the runner
// (are the replicas UP?) and the bench (connection reuse towards the instances).
import { request } from 'node:http';

/** The stats page's login (HAProxy's `userlist stats_users`; the runner keeps it in its state dir). */
export interface StatsLogin {
  user: string;
  password: string;
}

/** The stats page's URL and its login. */
export interface StatsEndpoint {
  url: string;
  login: StatsLogin;
}

/** The Authorization header of a stats login. */
export const statsAuthorization = (login: StatsLogin): string => `Basic ${Buffer.from(`${login.user}:${login.password}`).toString('base64')}`;

/** One row of the CSV, keyed by its column names (pxname, svname, status, connect, reuse, ...). */
export type StatsRow = Record<string, string>;

/** Parses the CSV text of the stats page ("# pxname,svname,..." header, then one line per proxy or server). */
export function parseStatsCsv(text: string): StatsRow[] {
  const [header = '', ...lines] = text.trim().split('\n');
  const columns = header.replace(/^# /, '').split(',');
  return lines.filter(Boolean).map((line) => {
    const cells = line.split(',');
    return Object.fromEntries(columns.map((column, i) => [column, cells[i] ?? '']));
  });
}

/** Fetches and parses the stats CSV (rejects when the page does not answer within timeoutMs). */
export function fetchStats(statsUrl: string, login: StatsLogin, timeoutMs = 2000): Promise<StatsRow[]> {
  return new Promise((resolveRows, reject) => {
    const headers = { authorization: statsAuthorization(login) };
    const req = request(`${statsUrl};csv`, { timeout: timeoutMs, agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolveRows(parseStatsCsv(body)) : reject(new Error(`stats page answered ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('stats page timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** The server rows of one backend (not its BACKEND summary row). */
export function serverRows(rows: StatsRow[], backend: string): StatsRow[] {
  return rows.filter((row) => row.pxname === backend && row.svname !== 'BACKEND' && row.svname !== 'FRONTEND');
}

/** The check state of each server of a backend according to HAProxy (UP, DOWN, "UP 1/2", MAINT, ...). */
export async function serverStates(statsUrl: string, backend: string, login: StatsLogin): Promise<Record<string, string>> {
  return Object.fromEntries(serverRows(await fetchStats(statsUrl, login), backend).map((row) => [row.svname, row.status]));
}
