// What a bench run measured: the shapes the scenarios fill in and the report renders (bench/report.ts).
import type { BcryptCeiling } from './bcrypt-ceiling';
import type { LoadResult } from './load';
import type { TreeMemory } from './memory';

export interface BenchReport {
  startedAt: string;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; loadAverage: { before: number; after?: number } };
  settings: { connections: number; durationSeconds: number; warmupSeconds: number; bcryptCost: number; quick: boolean; scenarios: string[] };
  loadGenerator: string;
  stack: {
    url: string;
    startedByBench: boolean;
    startupSeconds?: number;
    offlineMode: string;
    /** the edge's rate-limit settings the bench's stacks ran with */
    rateLimits: Record<string, string> | 'as configured';
    idleMemory?: TreeMemory;
    /** HAProxy → app backend connections over the whole run: opened vs reused (health checks included) */
    ingressConnections?: { connects: number; reuses: number };
  };
  runtime?: RuntimeReport;
  scenarios: ScenarioReport[];
  fixedRate?: { id: string; offeredPerSecond: number; stack: LoadResult; stackCpu?: CpuPerRequest };
  /** cached weather in the first seconds after healthy (bench/scenarios/first-seconds.ts) */
  firstSeconds?: { id: string; startedAfterHealthyMs?: number; stack: LoadResult; stackCpu?: CpuPerRequest };
  bcrypt?: BcryptCeiling;
  coldBurst: { stack?: ColdBurstReport; direct?: ColdBurstReport };
  memory?: MemoryReport;
  cores?: CoresPoint[];
  replicas?: ReplicaPoint[];
  coldStarts?: ColdStartReport;
  targets: Target[];
  notes: string[];
}

export interface ScenarioReport {
  id: string;
  title: string;
  stack: LoadResult;
  direct?: LoadResult;
  /** CPU per request of each process on the path, over the measured run (bench/cpu-meter.ts) */
  stackCpu?: CpuPerRequest;
  directCpu?: CpuPerRequest;
}

/** CPU time (user + system, from /proc) per answer of one measured load run, by process group. */
export interface CpuPerRequest {
  /** answers in the measured run, every status (autocannon's requests.total): the divisor */
  answers: number;
  /** µs per answer by group: a service (its process tree), `runner` (one process), `load generator` */
  usPerAnswer: Record<string, number>;
  /** every group but the load generator, µs per answer */
  totalUs: number;
  /** processes counted per group at the end of the run */
  processes: Record<string, number>;
  /** each instance behind HAProxy: the requests it answered in the run (HAProxy's stats) and its µs per such request */
  perHandled?: Record<string, { requests: number; us: number }>;
  /** one clock tick of one process spread over the answers: how fine the figures are */
  resolutionUs: number;
}

export interface RuntimeSample {
  invocations: number;
  ms: number;
  rssMb: number;
  heapMb: number;
}

export interface RuntimeReport {
  invocations: number;
  patched: RuntimeSample[];
  unpatched: RuntimeSample[];
  /** median patched ms / median unpatched ms */
  timeRatio: number;
}

export interface BurstResult {
  requests: number;
  cities: number;
  ms: number;
  /** answers by status ("error" for requests that got none) */
  statuses: Record<string, number>;
  /** weather requests the stand-in received during the burst; undefined when it could not be asked */
  upstreamCalls?: number;
}

export interface ColdBurstReport {
  oneCity: BurstResult;
  manyCities: BurstResult;
}

export interface ServiceMemory {
  service: string;
  processes: number;
  rssMb: number;
  pssMb: number;
}

export interface MemoryReport {
  loadSeconds: number;
  restSeconds: number;
  load: LoadResult;
  /** per service: RSS at idle before, highest sample during the load, and after the rest */
  services: { service: string; idleMb?: number; peakMb: number; afterMb: number }[];
  /** per node service, what its RSS is made of (bench/memory-usage-hook.cjs) before, at the end of the load and after */
  breakdown?: {
    service: string;
    at: 'before' | 'end of load' | 'after rest';
    usage: Record<string, number>;
    spaces: Record<string, number>;
    modules: number;
    liveHeapMb?: number;
  }[];
}

/** Sums a tree-memory reading per service (a service's process and its children). */
export function byService(memory: TreeMemory): ServiceMemory[] {
  const sums = new Map<string, ServiceMemory>();
  for (const p of memory.processes) {
    const e = sums.get(p.service) ?? { service: p.service, processes: 0, rssMb: 0, pssMb: 0 };
    sums.set(p.service, { ...e, processes: e.processes + 1, rssMb: e.rssMb + p.rssMb, pssMb: e.pssMb + p.pssMb });
  }
  return [...sums.values()].map((s) => ({ ...s, rssMb: Math.round(s.rssMb), pssMb: Math.round(s.pssMb) })).sort((a, b) => a.service.localeCompare(b.service));
}

export interface CoresPoint {
  cores: number;
  stackCpus: string;
  /** where the load generator ran: a CPU list, or "unpinned (shares the stack's cores)" */
  loadGenerator: string;
  result: LoadResult;
}

export interface ReplicaPoint {
  asked: number;
  /** weather-service processes the stack really ran (a stack without replica support runs one) */
  running: number;
  result: LoadResult;
}

export interface ColdStart {
  service: string;
  fn: string;
  zipBytes?: number;
  /** medians over the repeats, ms since the process was spawned */
  loadedMs: number;
  answeredMs: number;
  ratioToFloor?: number;
}

export interface ColdStartReport {
  repeats: number;
  floor: ColdStart;
  functions: ColdStart[];
  failures: string[];
}

export interface Target {
  what: string;
  target: string;
  actual: string;
  met: boolean | undefined;
}
