// Loaded with `node --require` into each serverless-offline instance of `npm run dev`: when the runner marks a
// rebuild (OFFLINE_PREBUILT_DIR/.reload), the old bundles leave Node's require cache, so the next invocation
// (serverless-offline resolves the handler on every one) loads the new code. Postgres and HAProxy keep running.
const { watch } = require('node:fs');
const { sep } = require('node:path');

const dir = process.env.OFFLINE_PREBUILT_DIR;
if (dir) {
  const prefix = dir.endsWith(sep) ? dir : dir + sep;
  const forget = () => {
    for (const file of Object.keys(require.cache)) if (file.startsWith(prefix)) delete require.cache[file];
  };
  // The watch ends with the process; unref() so it never keeps one alive.
  watch(dir, (_event, name) => name === '.reload' && forget()).unref();
}
