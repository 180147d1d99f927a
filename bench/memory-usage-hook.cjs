// Preloaded into the stack's node services by the bench's memory scenario (NODE_OPTIONS=--require ...): on SIGWINCH
// (ignored by node otherwise) it writes process.memoryUsage() plus V8's heap spaces to $MEMORY_USAGE_DIR/<pid>-<n>.json,
// so the report can say whether an instance's RSS is JS heap, code, or native memory; when asked, it then runs a
// full GC and records the heap still used (live objects); that GC is the hook's own doing and frees memory.
'use strict';
const { existsSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');

const dir = process.env.MEMORY_USAGE_DIR;
if (dir) {
  let n = 0;
  process.on('SIGWINCH', () => {
    const mb = (bytes) => Math.round(bytes / 2 ** 20);
    const usage = Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, mb(v)]));
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, mb(s.space_used_size)]));
    const modules = Object.keys(require.cache).length;
    // then, when asked (a file "gc" in the dir), a full collection, to tell live objects from garbage V8 has not
    // collected yet (an idle process runs no GC)
    let liveHeapMb;
    if (existsSync(join(dir, 'gc'))) {
      v8.setFlagsFromString('--expose-gc');
      vm.runInNewContext('gc')();
      liveHeapMb = mb(process.memoryUsage().heapUsed);
    }
    writeFileSync(join(dir, `${process.pid}-${n++}.json`), JSON.stringify({ usage, spaces, modules, liveHeapMb }));
  });
}
