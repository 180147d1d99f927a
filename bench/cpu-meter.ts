// CPU per request of every process on a request's path, read around one measured load run (bench/cpu.ts), and
// the requests HAProxy sent each instance meanwhile (its stats), for each instance's CPU per request it handled.
import { fetchStats, serverRows, type StatsEndpoint } from '../local/services/haproxy-stats';
import { cpuSnapshot, cpuSpent, US_PER_TICK, type CpuGroups, type CpuSnapshot } from './cpu';
import type { LoadWindow } from './requests';
import type { CpuPerRequest } from './results';

/** The name the load generator's process tree gets among the groups. */
export const LOAD_GENERATOR = 'load generator';
export const RUNNER = 'runner';

/** HAProxy's backends whose servers are the stack's instances (haproxy.cfg). */
const INSTANCE_BACKENDS = ['app_backend', 'weather_service'];
const RESPONSE_COLUMNS = ['hrsp_1xx', 'hrsp_2xx', 'hrsp_3xx', 'hrsp_4xx', 'hrsp_5xx', 'hrsp_other'];

/** Responses each instance has sent through HAProxy so far (health checks are not among them), by server name. */
async function answeredByInstance(stats: StatsEndpoint): Promise<Record<string, number> | undefined> {
  const rows = await fetchStats(stats.url, stats.login).catch(() => undefined);
  if (!rows) return undefined;
  const servers = INSTANCE_BACKENDS.flatMap((backend) => serverRows(rows, backend));
  return Object.fromEntries(servers.map((row) => [row.svname, RESPONSE_COLUMNS.reduce((n, column) => n + Number(row[column] || 0), 0)]));
}

const round = (us: number) => Math.round(us * 10) / 10;

/** Reads the groups' CPU times at the start and the end of a load run's measured window (give it to runLoad). */
export class CpuMeter implements LoadWindow {
  private before?: CpuSnapshot;
  private after?: CpuSnapshot;
  private answeredBefore?: Record<string, number>;
  private answeredAfter?: Record<string, number>;
  private readonly groups: CpuGroups;

  /** `groups`: the processes on the path (services as trees, the runner as one process); `stats`: HAProxy's stats page and its login. */
  constructor(
    groups: CpuGroups,
    private readonly stats?: StatsEndpoint,
  ) {
    this.groups = { ...groups };
  }

  async start(loadGeneratorPid: number): Promise<void> {
    this.groups[LOAD_GENERATOR] = { pid: loadGeneratorPid };
    // the stats request costs HAProxy and the runner a little: before the CPU snapshot at the start, after it at the end
    if (this.stats) this.answeredBefore = await answeredByInstance(this.stats);
    this.before = cpuSnapshot(this.groups, 'start');
  }

  async end(): Promise<void> {
    this.after = cpuSnapshot(this.groups, 'end');
    if (this.stats) this.answeredAfter = await answeredByInstance(this.stats);
  }

  /** µs per answer of each group over the window; `answers` = every answer of the measured run, whatever its status. */
  perRequest(answers: number): CpuPerRequest | undefined {
    if (!this.before || !this.after || answers <= 0) return undefined;
    const spent = cpuSpent(this.before, this.after);
    const usPerAnswer = Object.fromEntries(Object.entries(spent).map(([name, us]) => [name, round(us / answers)]));
    const totalUs = round(Object.entries(spent).reduce((sum, [name, us]) => sum + (name === LOAD_GENERATOR ? 0 : us), 0) / answers);
    const perHandled: NonNullable<CpuPerRequest['perHandled']> = {};
    for (const [name, after] of Object.entries(this.answeredAfter ?? {})) {
      const requests = after - (this.answeredBefore?.[name] ?? after);
      if (requests > 0 && spent[name] !== undefined) perHandled[name] = { requests, us: round(spent[name] / requests) };
    }
    return {
      answers,
      usPerAnswer,
      totalUs,
      processes: Object.fromEntries(Object.entries(this.after.pids).map(([name, pids]) => [name, pids.length])),
      perHandled: Object.keys(perHandled).length ? perHandled : undefined,
      resolutionUs: round(US_PER_TICK / answers),
    };
  }
}

/** The columns of the report's CPU table: which groups each one sums. */
export const CPU_ROLES: { role: string; of: (group: string) => boolean }[] = [
  { role: 'backend', of: (g) => /^(app-backend-|direct-backend)/.test(g) },
  { role: 'weather', of: (g) => /^(weather-service-|direct-weather)/.test(g) },
  { role: 'HAProxy', of: (g) => g === 'haproxy' },
  { role: 'Postgres', of: (g) => g === 'postgres' },
  { role: 'stand-in', of: (g) => g === 'owm-standin' },
  { role: 'runner', of: (g) => g === RUNNER },
  { role: 'load generator', of: (g) => g === LOAD_GENERATOR },
];

/** µs per answer summed by role (backend instances together, ...); a role with no group on the path is absent. */
export function cpuByRole(cpu: CpuPerRequest): Record<string, number> {
  const roles: Record<string, number> = {};
  for (const { role, of } of CPU_ROLES) {
    const groups = Object.entries(cpu.usPerAnswer).filter(([g]) => of(g));
    if (groups.length) roles[role] = round(groups.reduce((sum, [, us]) => sum + us, 0));
  }
  return roles;
}
