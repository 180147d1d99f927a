// Readings of HAProxy's Prometheus exporter (/metrics): exact counters and states, where its access log is best effort.

/** HAProxy's view of one server, from the Prometheus exporter: UP, DOWN, MAINT, ... */
export async function serverState(metricsUrl: string, server: string): Promise<string | undefined> {
  const text = await (await fetch(metricsUrl)).text();
  const line = text.split('\n').find((l) => l.startsWith('haproxy_server_status{') && l.includes(`server="${server}"`) && l.endsWith(' 1'));
  return line?.match(/state="(\w+)"/)?.[1];
}

/** One sample of HAProxy's Prometheus exporter: the value of `metric` on the line whose labels include every one given (0 if none). */
export async function haproxyMetric(metricsUrl: string, metric: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => (l.startsWith(`${metric}{`) || l.startsWith(`${metric} `)) && wanted.every((w) => l.includes(w)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}
