// The stack runner in a process of its own, for tests that kill the whole stack (runner included) and for a dev
// stack in a scratch copy of the tree (test/support/dev-scratch.ts):  tsx test/support/stack-process.ts '<StackOptions as JSON>'
// Prints {"ready":true,"urls":...,"pids":...} on stdout once healthy; SIGTERM stops the stack.
import { announceReady } from '../../local/processes';
import { startStack, type StackOptions } from '../../local/stack';

async function main() {
  const options = JSON.parse(process.argv[2] ?? '{}') as StackOptions;
  const stack = await startStack({ ...options, onProgress: (message) => process.stderr.write(`${message}\n`) });
  announceReady({ urls: stack.urls, pids: stack.pids });
  process.once('SIGTERM', () => {
    void stack.stop().then(() => process.exit(0));
  });
}

main().catch((err) => {
  process.stderr.write(`stack process failed: ${(err as Error).message}\n`);
  process.exit(1);
});
