// The bcrypt ceiling: how many bcrypt.compare calls per second this machine does on all cores, at a cost.
// POST /token cannot be faster than this, so the bench shows /token as a fraction of it.
//
//   UV_THREADPOOL_SIZE=N tsx bench/bcrypt-ceiling.ts <cost> <seconds> <concurrency>
//
// Prints one JSON line {"comparesPerSecond":...} on stdout.
import bcrypt from 'bcrypt';

export interface BcryptCeiling {
  cost: number;
  comparesPerSecond: number;
  concurrency: number;
  threadpool: number;
  seconds: number;
}

async function main() {
  const [cost, seconds, concurrency] = process.argv.slice(2).map(Number);
  const hash = await bcrypt.hash('correct horse battery staple', cost);
  let done = 0;
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  // Each lane keeps one compare in flight (async: it runs on libuv's thread pool, like the handler's).
  const lane = async () => {
    while (performance.now() < until) {
      await bcrypt.compare('correct horse battery staple', hash);
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const elapsed = (performance.now() - started) / 1000;
  const result: BcryptCeiling = {
    cost,
    comparesPerSecond: Math.round((done / elapsed) * 10) / 10,
    concurrency,
    threadpool: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
    seconds: Math.round(elapsed * 10) / 10,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`bcrypt ceiling failed: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
