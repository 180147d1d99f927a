// The stage serverless.yml uses when no --stage is given (`stage: ${opt:stage, file(local/default-stage.cjs):stage}`):
// `local` for the local runtime's commands, `sls offline [start]` and `sls invoke local`, and `dev` for every other
// one (`sls package`, `sls deploy`, `sls print`, …). So a bare `sls offline start` takes the local defaults
// instead of asking SSM for secrets, and nothing but the local runtime ever runs on stage local.
'use strict';

/** Command lines whose leading words start with one of these run under the local runtime. */
const LOCAL_COMMANDS = [['offline'], ['invoke', 'local']];

/** The default stage of a serverless command line (its arguments after the program name). */
function defaultStage(args) {
  // The command's words come first (`sls offline start --httpPort 3000`); options follow them.
  const words = [];
  for (const arg of args) {
    if (arg.startsWith('-')) break;
    words.push(arg);
  }
  return LOCAL_COMMANDS.some((command) => command.every((word, i) => words[i] === word)) ? 'local' : 'dev';
}

module.exports = { defaultStage, stage: () => defaultStage(process.argv.slice(2)) };
