// Preloaded into the stack's node processes by `npm run bench -- --profile` (NODE_OPTIONS=--require ...,
// since node refuses --cpu-prof there): SIGUSR2 starts the V8 CPU profiler, the next SIGUSR2 stops it and
// writes $CPU_PROFILE_DIR/<pid>.cpuprofile, so the profile covers the measured scenarios and not startup.
'use strict';
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { Session } = require('node:inspector');

const dir = process.env.CPU_PROFILE_DIR;
if (dir) {
  let session;
  process.on('SIGUSR2', () => {
    if (!session) {
      session = new Session();
      session.connect();
      session.post('Profiler.enable');
      session.post('Profiler.start');
      return;
    }
    const running = session;
    session = undefined;
    running.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
      running.disconnect();
    });
  });
}
