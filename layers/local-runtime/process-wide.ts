// serverless-offline loads every function's bundle, each with its own copy of every module, into one process: what
// must be one per process (the database pools, the logger, the record of settings already reported) lives on
// globalThis under a well-known key. Deployed, a process holds one bundle and this is a plain singleton.

/** The process's one `make()` under `key`, made on first use. */
export function processWide<T>(key: string, make: () => T): T {
  const symbol = Symbol.for(`platform.${key}`);
  const registry = globalThis as unknown as Record<symbol, T | undefined>;
  return (registry[symbol] ??= make());
}

/** True the first time a process sees `key` in the set `name` (a bad setting is reported once, not once per bundle). */
export function firstTimeInProcess(name: string, key: string): boolean {
  const seen = processWide(name, () => new Set<string>());
  if (seen.has(key)) return false;
  seen.add(key);
  return true;
}
