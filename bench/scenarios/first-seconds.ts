// The first seconds after healthy: cached weather through the stack for 10 s with no warm-up of the load generator's,
// measured before any other scenario, so its p99 can be set beside the steady-state p99 of weather-hit (taken later,
// after its own warm-up). Meaningful when the bench started the stack: with --url the stack may have been running for
// hours, and the report says so.
import { say } from '../context';
import { measuredLoad, stackGroups } from './load-scenarios';
import type { Run } from './scenario';
import { weatherHit } from './weather-hit';

export const FIRST_SECONDS = 10;

export async function runFirstSeconds(run: Run): Promise<void> {
  const sinceHealthyMs = run.target.healthyAt === undefined ? undefined : Date.now() - run.target.healthyAt;
  say(
    `first ${FIRST_SECONDS} s after healthy (${sinceHealthyMs === undefined ? 'a running stack' : `${(sinceHealthyMs / 1000).toFixed(1)} s after it`}): ${weatherHit.title}...`,
  );
  const spec = { connections: run.ctx.options.connections, durationSeconds: FIRST_SECONDS, warmupSeconds: 0, ...weatherHit.spec(run.target.api, run.user) };
  const { result, cpu } = await measuredLoad(spec, stackGroups(run), run.target.stats);
  run.report.firstSeconds = { id: weatherHit.id, startedAfterHealthyMs: sinceHealthyMs, stack: result, stackCpu: cpu };
}
