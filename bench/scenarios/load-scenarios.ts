// Runs the load scenarios (weather hit, /user, health, /token) through the stack and directly, in one pass.
import { say } from '../context';
import type { LoadResult } from '../load';
import { runLoad } from '../requests';
import { health } from './health';
import { loadSettings, type LoadScenario, type Run } from './scenario';
import { bcryptCeiling, token, TOKEN_CONNECTIONS } from './token';
import { userGet } from './user-get';
import { weatherHit } from './weather-hit';

export const LOAD_SCENARIOS: LoadScenario[] = [weatherHit, userGet, health, token];

const line = (r: LoadResult) => `${r.requestsPerSecond} req/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, errors ${r.errors}`;

/** 503s of /token are the bcrypt queue's refusals (BCRYPT_QUEUE_MAX / BCRYPT_QUEUE_TIMEOUT_MS): reported, not hidden. */
function noteQueueRefusals(run: Run, path: string, result: LoadResult): void {
  const refused = result.statusCodes[503] ?? 0;
  if (refused) run.ctx.notes.push(`POST /token ${path}: ${refused} answers were 503 (the bcrypt queue was full or waited past BCRYPT_QUEUE_TIMEOUT_MS).`);
}

export async function runLoadScenario(run: Run, scenario: LoadScenario): Promise<void> {
  const settings = loadSettings(run);
  if (scenario.id === 'token') {
    settings.connections = Math.min(settings.connections, TOKEN_CONNECTIONS);
    // measured right before /token, so both see the machine in the same state
    say('bcrypt ceiling...');
    run.report.bcrypt = await bcryptCeiling(Math.min(5, Math.max(3, run.ctx.options.durationSeconds / 2)));
    say(`  ${run.report.bcrypt.comparesPerSecond} compares/s`);
  }
  say(`${scenario.title}: through the stack...`);
  const viaStack = await runLoad({ ...settings, ...scenario.spec(run.target.api, run.user) });
  say(`  ${line(viaStack)}`);
  let viaDirect: LoadResult | undefined;
  if (run.direct) {
    say(`${scenario.title}: direct...`);
    viaDirect = await runLoad({ ...settings, ...scenario.spec(run.direct.backend, run.user) });
    say(`  ${line(viaDirect)}`);
  }
  if (scenario.id === 'token') {
    noteQueueRefusals(run, 'through the stack', viaStack);
    if (viaDirect) noteQueueRefusals(run, 'direct', viaDirect);
  }
  run.report.scenarios.push({ id: scenario.id, title: scenario.title, stack: viaStack, direct: viaDirect });
  if (scenario.id === 'weather-hit') {
    // latency at a fixed offered rate, below saturation (the p99 target is set at 400 req/s)
    const rate = 400;
    say(`${scenario.title}: through the stack at a fixed ${rate} req/s...`);
    const fixed = await runLoad({ ...settings, ...scenario.spec(run.target.api, run.user), overallRate: rate });
    say(`  ${line(fixed)}`);
    run.report.fixedRate = { id: scenario.id, offeredPerSecond: rate, stack: fixed };
  }
}
