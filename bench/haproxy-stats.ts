// HAProxy's stats CSV (`<stats url>;csv`), parsed once: one record per proxy/server row, keyed by column name.
export type StatsRow = Record<string, string>;

export function parseStatsCsv(csv: string): StatsRow[] {
  const [header, ...rows] = csv.trim().split('\n');
  const columns = header.replace(/^# /, '').split(',');
  return rows.filter(Boolean).map((row) => Object.fromEntries(row.split(',').map((value, i) => [columns[i], value])));
}

export async function fetchStats(statsUrl: string): Promise<StatsRow[] | undefined> {
  const res = await fetch(`${statsUrl};csv`).catch(() => undefined);
  return res?.ok ? parseStatsCsv(await res.text()) : undefined;
}

/** Servers (not the BACKEND/FRONTEND summary rows) of one backend. */
export const serversOf = (rows: StatsRow[], backend: string) => rows.filter((r) => r.pxname === backend && r.svname !== 'BACKEND' && r.svname !== 'FRONTEND');

/** New connections vs reused ones towards the app backend instances (cumulative). */
export async function ingressReuse(statsUrl: string): Promise<{ connects: number; reuses: number } | undefined> {
  const rows = await fetchStats(statsUrl);
  const servers = rows ? serversOf(rows, 'app_backend') : [];
  if (!servers.length || servers[0].connect === undefined) return undefined;
  const sum = (column: string) => servers.reduce((n, r) => n + Number(r[column] || 0), 0);
  return { connects: sum('connect'), reuses: sum('reuse') };
}
