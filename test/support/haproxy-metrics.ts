// Readings of HAProxy's Prometheus exporter (/metrics): exact counters and states, where its access log is best effort.
import { statsAuthorization, type StatsLogin } from '../../local/services/haproxy-stats';

/** The exporter's text, fetched with the stats login. */
async function metricsText(metricsUrl: string, login: StatsLogin): Promise<string> {
  const answer = await fetch(metricsUrl, { headers: { authorization: statsAuthorization(login) } });
  if (answer.status !== 200) throw new Error(`${metricsUrl} answered ${answer.status}`);
  return answer.text();
}

/** HAProxy's view of one server, from the Prometheus exporter: UP, DOWN, MAINT, ... */
export async function serverState(metricsUrl: string, login: StatsLogin, server: string): Promise<string | undefined> {
  const text = await metricsText(metricsUrl, login);
  const line = text.split('\n').find((l) => l.startsWith('haproxy_server_status{') && l.includes(`server="${server}"`) && l.endsWith(' 1'));
  return line?.match(/state="(\w+)"/)?.[1];
}

/** One sample of HAProxy's Prometheus exporter: the value of `metric` on the line whose labels include every one given (0 if none). */
export async function haproxyMetric(metricsUrl: string, login: StatsLogin, metric: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await metricsText(metricsUrl, login);
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => (l.startsWith(`${metric}{`) || l.startsWith(`${metric} `)) && wanted.every((w) => l.includes(w)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}
