// The README stays a newcomer's guide, every link in the docs leads to a file of this repository, and every
// setting the code reads is documented in .env.example and docs/configuration.md.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

const README_MAX_BYTES = 12 * 1024;
// Set by a runtime or by a serverless.yml for each service: documented in docs/configuration.md, not for .env.
const NOT_FOR_DOTENV = new Set([
  'STAGE',
  'IS_OFFLINE',
  'IS_LOCAL',
  'POWERTOOLS_SERVICE_NAME',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_REGION',
]);
// Passed between the runner's own processes, not settings.
const INTERNAL = new Set<string>([]);

function markdownFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name.startsWith('.')) return [];
    if (statSync(join(ROOT, path)).isDirectory()) return sourceFiles(path);
    return /\.(ts|sh|yml)$/.test(name) ? [path] : [];
  });
}

/** Markdown links outside code blocks: `[text](target)`. */
function links(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function anchors(markdown: string): Set<string> {
  const prose = markdown.replace(/```[\s\S]*?```/g, '');
  return new Set(
    [...prose.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
      m[1]
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
  );
}

/** Variable names in the first column of the README's settings table. */
function readmeSettings(): string[] {
  const section =
    read('README.md')
      .split(/^## Settings$/m)[1]
      ?.split(/^## /m)[0] ?? '';
  return [...section.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
}

/** Every environment variable the product's code, its serverless.yml files and haproxy.cfg read. */
function settingsReadByCode(): Set<string> {
  const names = new Set<string>();
  const files = [...sourceFiles('layers'), ...sourceFiles('functions'), ...sourceFiles('local'), 'serverless.yml'];
  for (const file of files) {
    const text = read(file);
    for (const m of text.matchAll(/\benv(?:\.|\[['"])([A-Z][A-Z0-9_]+)/g)) names.add(m[1]);
    // The parsing helpers of the configuration modules: integer(env, 'NAME', ...), port('NAME', ...)
    for (const m of text.matchAll(/\b(?:\w+\(env, |(?:port|positive|integer|url|text|flag)\()'([A-Z][A-Z0-9_]+)'/g)) names.add(m[1]);
    for (const m of text.matchAll(/\$\{env:([A-Z][A-Z0-9_]+)/g)) names.add(m[1]);
  }
  const haproxy = read('haproxy.cfg').replace(/^\s*#.*$/gm, '');
  for (const m of haproxy.matchAll(/"\$\{([A-Z][A-Z0-9_]+)-/g)) names.add(m[1]);
  return names;
}

const dotenvExample = () => new Set([...read('.env.example').matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));

describe('README and docs', () => {
  test(`the README is at most ${README_MAX_BYTES} bytes`, () => {
    expect(statSync(join(ROOT, 'README.md')).size).toBeLessThanOrEqual(README_MAX_BYTES);
  });

  test('the README links every document in docs/', () => {
    const linked = new Set(links(read('README.md')).map((l) => l.split('#')[0]));
    const documents = markdownFiles().filter((f) => f !== 'README.md');
    expect(documents.filter((doc) => !linked.has(doc))).toEqual([]);
  });

  test.each(markdownFiles())('every relative link in %s resolves inside the repository', (file) => {
    const broken: string[] = [];
    for (const link of links(read(file))) {
      if (/^https?:\/\//.test(link)) continue;
      const [path, anchor] = link.split('#');
      const target = path ? resolve(ROOT, dirname(file), path) : join(ROOT, file);
      if (relative(ROOT, target).startsWith('..')) broken.push(`${link} (outside the repository)`);
      else if (!existsSync(target)) broken.push(`${link} (no such file)`);
      else if (anchor && target.endsWith('.md') && !anchors(readFileSync(target, 'utf8')).has(anchor)) broken.push(`${link} (no such heading)`);
    }
    expect(broken).toEqual([]);
  });

  test.each(markdownFiles())('%s does not point at files outside the repository', (file) => {
    const text = read(file);
    expect(text).not.toMatch(/shared\/DESIGN|\/work\/|\]\(\.\.\/\.\.\//);
    if (file === 'README.md') expect(text).not.toMatch(/\]\(\.\.\//);
  });

  test('every setting in the README table is listed in .env.example', () => {
    const listed = readmeSettings();
    expect(listed.length).toBeGreaterThan(20);
    const example = dotenvExample();
    expect(listed.filter((name) => !example.has(name))).toEqual([]);
  });

  test('every setting the code reads is in .env.example and docs/configuration.md', () => {
    const read_ = new Set([...settingsReadByCode()].filter((name) => !INTERNAL.has(name)));
    expect(read_.has('JWT_SECRET') && read_.has('PORT') && read_.has('MAX_BODY_BYTES')).toBe(true);
    const example = dotenvExample();
    const configuration = read('docs/configuration.md');
    expect([...read_].filter((name) => !NOT_FOR_DOTENV.has(name) && !example.has(name))).toEqual([]);
    expect([...read_].filter((name) => !configuration.includes(`\`${name}\``))).toEqual([]);
  });
});
