// Cached weather with 1, 2 and 3 weather-service replicas (WEATHER_REPLICAS / StackOptions.weatherReplicas), each
// count on a stack of its own started for it; the instances actually running are counted from the stack's pids.
import { say } from '../context';
import { createBenchUser, runLoad, warmCities } from '../requests';
import type { ReplicaPoint } from '../results';
import { startOwnStack } from '../systems';
import { loadSettings, type Run } from './scenario';
import { weatherHit } from './weather-hit';

const weatherInstances = (pids: Record<string, number>) => Object.keys(pids).filter((name) => name.startsWith('weather')).length;

export async function runReplicas(run: Run): Promise<void> {
  if (!run.upstream) {
    run.ctx.notes.push('replicas: needs stacks the bench starts itself (no --url), not measured');
    return;
  }
  const points: ReplicaPoint[] = [];
  for (const asked of run.ctx.options.quick ? [1, 2] : [1, 2, 3]) {
    const target = await startOwnStack(
      run.ctx,
      `weather-x${asked}`,
      run.upstream,
      { ...run.stackEnv, WEATHER_REPLICAS: String(asked) },
      { weatherReplicas: asked },
    );
    try {
      const user = await createBenchUser(target.api);
      await warmCities(target.api, user.token);
      const running = weatherInstances(target.pids);
      say(`replicas: ${asked} asked, ${running} weather instance(s) running...`);
      const result = await runLoad({ ...loadSettings(run), ...weatherHit.spec(target.api, user) });
      say(`  ${result.requestsPerSecond} req/s, p99 ${result.latencyMs.p99} ms, errors ${result.errors}`);
      points.push({ asked, running, result });
    } finally {
      await target.stop();
    }
  }
  if (points.some((p) => p.running !== p.asked))
    run.ctx.notes.push('replicas: this stack does not honour weatherReplicas yet (see "running" in the replica table).');
  run.report.replicas = points;
}
