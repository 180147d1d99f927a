// The settings every function of a service has: its stage and its logger's name and level.
import { choice, secret, text } from './schema';

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;

/** Set by the local runner only, for its own processes: every request must carry it in X-Edge-Proof (HAProxy adds it), else 403. */
export const EDGE_PROOF_SECRET = secret('EDGE_PROOF_SECRET', {
  minBytes: 32,
  readBy: ['haproxy', 'every function under the runner'],
  default: '',
  scope: 'internal',
  description:
    'made anew at every start by the local runner: HAProxy adds it to each request it forwards (`X-Edge-Proof`) and the instances refuse any request without it (403); unset (`sls offline start` by hand, deployed): no such check',
});

/** The schema entries shared by every function of `service` (the serverless.yml functions `functions`). */
export const platformSettings = (service: string, functions: readonly string[]) => ({
  stage: text('STAGE', {
    readBy: functions,
    default: 'local',
    packagedAs: '${sls:stage}',
    description:
      '`local` (and `test`, the tests\' stage) means "under the local runtime": database URLs may come from the embedded Postgres and secrets are generated once into the local state. Any other stage is deployed: those settings are required, and the code never reads the local state nor writes a file.',
  }),
  isOffline: text('IS_OFFLINE', {
    readBy: functions,
    default: '',
    scope: 'platform',
    description: 'set by serverless-offline: `true` means local, whatever `STAGE` says',
  }),
  isLocalInvoke: text('IS_LOCAL', {
    readBy: functions,
    default: '',
    scope: 'platform',
    description: 'set by `sls invoke local`: `true` means local, whatever `STAGE` says',
  }),
  serviceName: text('POWERTOOLS_SERVICE_NAME', {
    readBy: functions,
    default: service,
    packagedAs: service,
    description: 'the `service` field of every log line',
  }),
  edgeProofSecret: EDGE_PROOF_SECRET,
  logLevel: choice('POWERTOOLS_LOG_LEVEL', {
    readBy: functions,
    values: LOG_LEVELS,
    default: 'INFO',
    packagedAs: "${env:LOG_LEVEL, 'INFO'}",
    description: "Powertools' log level (serverless.yml passes `LOG_LEVEL`)",
  }),
});
