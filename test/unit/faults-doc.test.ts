/**
 * docs/faults.md stays true: every row names a test file and a test title, and that title is in that file.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rows = readFileSync(path.join(repo, 'docs/faults.md'), 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('| ') && !l.startsWith('| fault') && !l.startsWith('|---'))
  .map((l) => {
    const cells = l.split(' | ');
    const last = cells.at(-1)!.replace(/ \|$/, '');
    const m = /^`([^`]+)` › (.+)$/.exec(last);
    return { line: l, file: m?.[1], title: m?.[2] };
  });

describe('docs/faults.md', () => {
  it('has rows', () => {
    expect(rows.length).toBeGreaterThan(30);
  });
  it.each(rows.map((r) => [r.title ?? r.line, r] as const))('names a test that exists: %s', (_name, r) => {
    expect(r.file, r.line).toBeDefined();
    const source = readFileSync(path.join(repo, r.file!), 'utf8');
    // The title as written in the test (quotes escaped as in the source).
    const variants = [r.title!, r.title!.replace(/'/g, "\\'")];
    expect(variants.some((t) => source.includes(t)), `${r.file} has a test "${r.title}"`).toBe(true);
  });
});
