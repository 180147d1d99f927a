// --profile: V8's CPU profiler in the stack's node services (bench/cpu-profile-hook.cjs, toggled by SIGUSR2) while
// the chosen scenarios run, summarised per service into bench/results/profile.md.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { RESULTS, say } from './context';
import { profileMarkdown, summarizeProfile } from './profile-summary';
import type { ScenarioReport } from './results';

/** The stack's node services (backends and weather instances; not Postgres, HAProxy or the stand-in). */
export const profiledServices = (pids: Record<string, number>) => Object.keys(pids).filter((name) => /^(app-backend|weather)/.test(name));

/** Starts (first call) or stops and writes (second call) the CPU profiles of the stack's node services. */
export function toggleProfilers(pids: Record<string, number>): void {
  for (const name of profiledServices(pids)) process.kill(pids[name], 'SIGUSR2');
}

/** Summarises the profiles the hook wrote (while the bundles and their source maps exist). */
export async function writeProfiles(pids: Record<string, number>, profileDir: string, startedAt: string, scenarios: ScenarioReport[]): Promise<void> {
  const sections = [
    `# CPU profiles ${startedAt}`,
    '',
    'Self time per function while these scenarios ran through the stack (the V8 profiler ran only during them):',
    '',
    ...scenarios.map((s) => `- ${s.title}: ${s.stack.requestsPerSecond} req/s, p99 ${s.stack.latencyMs.p99} ms, errors ${s.stack.errors}`),
  ];
  for (const name of profiledServices(pids)) {
    const file = join(profileDir, `${pids[name]}.cpuprofile`);
    for (let i = 0; i < 50 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 100));
    sections.push('', `## ${name}`, '', existsSync(file) ? profileMarkdown(summarizeProfile(file, 25)) : 'no profile was written');
  }
  mkdirSync(RESULTS, { recursive: true });
  const markdown = `${sections.join('\n')}\n`;
  writeFileSync(join(RESULTS, 'profile.md'), markdown);
  writeFileSync(join(RESULTS, `profile-${startedAt.replace(/[:.]/g, '-')}.md`), markdown);
  say(`\nprofiles: ${relative(process.cwd(), join(RESULTS, 'profile.md'))}`);
}
