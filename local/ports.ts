// Free TCP ports on loopback, for everything local runs and tests start.
// A port that is free now is free only until someone binds it, and two sources take them meanwhile: outgoing
// connections (their local ports come from the kernel's ephemeral range) and other stacks starting side by side
// (tests, other checkouts). So ports are picked below the ephemeral range, where no connection lands, and each one
// handed out is reserved for a while in a directory every process on the machine shares (one file per port,
// created exclusively); a port someone else reserved recently is skipped.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RESERVATIONS = join(tmpdir(), 'local-stack-ports');
/** Longer than any stack's startup: by then the port is bound by whoever it was handed to. */
const RESERVED_FOR_MS = 10 * 60_000;

/** Where ports are picked: from 20000 up to the kernel's ephemeral range (32768 by default on Linux). */
function pickRange(): [number, number] {
  let ephemeralLow = 32_768;
  try {
    ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralLow;
  } catch {
    // not Linux: keep the usual default
  }
  return ephemeralLow > 21_000 ? [20_000, ephemeralLow - 1] : [10_000, 19_999];
}

/** Whether nothing listens on the port (a listen on 127.0.0.1 succeeds). */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolveFree(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
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
  const [low, high] = pickRange();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if ((await isFree(port)) && reserve(port)) return port;
  }
  throw new Error(`no free port found from ${low} to ${high} that is not reserved in ${RESERVATIONS}`);
}
