// Free TCP ports on loopback, for everything local runs and tests start.
// A port the kernel calls free is free only until someone binds it: stacks starting side by side (tests,
// helpers' runs) would pick the same one now and then and fail with EADDRINUSE a few seconds later. So each port
// handed out is also reserved for a while in a directory every process on the machine shares (one file per port,
// created exclusively), and a port someone else reserved recently is skipped.
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RESERVATIONS = join(tmpdir(), 'local-stack-ports');
/** Longer than any stack's startup: by then the port is bound by whoever it was handed to. */
const RESERVED_FOR_MS = 10 * 60_000;

function kernelPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/** Claims a port for this process unless another one claimed it recently (a stale claim is taken over). */
function reserve(port: number): boolean {
  mkdirSync(RESERVATIONS, { recursive: true });
  const file = join(RESERVATIONS, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch {
      const age = Date.now() - (statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      if (age < RESERVED_FOR_MS) return false;
      rmSync(file, { force: true });
    }
  }
  return false;
}

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await kernelPort();
    if (reserve(port)) return port;
  }
  throw new Error(`no free port found that is not reserved in ${RESERVATIONS}`);
}
