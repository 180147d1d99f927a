// What a scenario is given (the run so far) and what a load scenario declares.
import type { BenchContext } from '../context';
import type { LoadSpec } from '../load';
import type { BenchUser } from '../requests';
import type { BenchReport } from '../results';
import type { Direct, StackUnderTest, Upstream } from '../systems';

export interface Run {
  ctx: BenchContext;
  target: StackUnderTest;
  direct?: Direct;
  upstream?: Upstream;
  user: BenchUser;
  /** NODE_OPTIONS and the like for any further stack a scenario starts */
  stackEnv: Record<string, string>;
  report: BenchReport;
}

/** A scenario measured with the load generator, through the stack and (when there is one) directly. */
export interface LoadScenario {
  id: 'weather-hit' | 'user-get' | 'health' | 'token';
  title: string;
  spec(base: string, user: BenchUser): Omit<LoadSpec, 'connections' | 'durationSeconds' | 'warmupSeconds'>;
}

export const loadSettings = (run: Run) => ({
  connections: run.ctx.options.connections,
  durationSeconds: run.ctx.options.durationSeconds,
  warmupSeconds: run.ctx.options.warmupSeconds,
});
