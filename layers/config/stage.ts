// Which stage a process runs on: "local" means under the local runtime (serverless-offline, sls invoke local, tests).
import type { Env } from './env';

/** The tests' stage; local like "local". */
const LOCAL_STAGES = new Set(['local', 'test']);

export function stageName(env: Env): string {
  return env.STAGE || 'local';
}

/** Only a local stage may read local/.data or write a generated secret; every other stage is treated as deployed. */
export function isLocal(env: Env): boolean {
  return LOCAL_STAGES.has(stageName(env)) || env.IS_OFFLINE === 'true' || env.IS_LOCAL === 'true';
}
