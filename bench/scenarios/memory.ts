// Memory per service: idle, during minutes of GET /user/{id} load (sampled; the highest kept) and after a rest.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { say } from '../context';
import { profiledServices } from '../profile';
import { treeMemory } from '../memory';
import { runLoad } from '../requests';
import { byService, type MemoryReport } from '../results';
import { userGet } from './user-get';
import type { Run } from './scenario';

/** The directory the stack's services write their memory breakdown to (NODE_OPTIONS --require, set in run.ts). */
export const MEMORY_USAGE_DIR = 'memory-usage';

/** Asks each node service for its memory breakdown (SIGWINCH to the hook) and reads the answers. */
async function breakdown(run: Run, at: 'before' | 'end of load' | 'after rest', gc: boolean): Promise<NonNullable<MemoryReport['breakdown']>> {
  const dir = join(run.ctx.scratch, MEMORY_USAGE_DIR);
  const services = profiledServices(run.target.pids);
  if (gc) writeFileSync(join(dir, 'gc'), '');
  else rmSync(join(dir, 'gc'), { force: true });
  const before = new Set(readdirSync(dir));
  for (const name of services) process.kill(run.target.pids[name], 'SIGWINCH');
  await sleep(1000);
  const fresh = readdirSync(dir).filter((f) => !before.has(f));
  return services.flatMap((service) => {
    const file = fresh.find((f) => f.startsWith(`${run.target.pids[service]}-`));
    return file
      ? [
          {
            service,
            at,
            ...(JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
              usage: Record<string, number>;
              spaces: Record<string, number>;
              modules: number;
              liveHeapMb?: number;
            }),
          },
        ]
      : [];
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runMemory(run: Run): Promise<void> {
  const { memoryLoadSeconds: loadSeconds, memoryRestSeconds: restSeconds, connections } = run.ctx.options;
  if (!Object.keys(run.target.pids).length) {
    run.ctx.notes.push("memory: the stack's pids are unknown (not started by the bench or npm start here), not measured");
    return;
  }
  say(`memory: ${loadSeconds} s of GET /user/{id} through the stack, sampled every 2 s, then ${restSeconds} s of rest...`);
  const hooked = Boolean(run.stackEnv.MEMORY_USAGE_DIR);
  const parts = hooked ? await breakdown(run, 'before', false) : [];
  const peak = new Map<string, number>();
  let loading = true;
  const sampler = (async () => {
    while (loading) {
      for (const s of byService(treeMemory(run.target.pids))) peak.set(s.service, Math.max(peak.get(s.service) ?? 0, s.rssMb));
      await sleep(2000);
    }
  })();
  const load = await runLoad({ connections, durationSeconds: loadSeconds, warmupSeconds: 0, ...userGet.spec(run.target.api, run.user) }).finally(
    () => (loading = false),
  );
  await sampler;
  if (hooked) parts.push(...(await breakdown(run, 'end of load', false)));
  await sleep(restSeconds * 1000);
  const idle = new Map((run.report.stack.idleMemory ? byService(run.report.stack.idleMemory) : []).map((s) => [s.service, s.rssMb]));
  const services = byService(treeMemory(run.target.pids)).map((s) => ({
    service: s.service,
    idleMb: idle.get(s.service),
    peakMb: peak.get(s.service) ?? s.rssMb,
    afterMb: s.rssMb,
  }));
  // last, as only this reading forces a GC (live heap) and that frees memory the figures above include
  if (hooked) parts.push(...(await breakdown(run, 'after rest', true)));
  run.report.memory = { loadSeconds, restSeconds, load, services, breakdown: hooked ? parts : undefined };
  for (const s of services) say(`  ${s.service}: idle ${s.idleMb ?? '–'} MB, peak ${s.peakMb} MB, after ${s.afterMb} MB`);
}
