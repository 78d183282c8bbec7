/** Small parts of the registry service: range parsing, ETag matching, scopes, token store rules, progress bar. */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRange } from '../src/server/app.js';
import { etagMatches } from '../src/ops.js';
import { progressBar } from '../src/progress.js';
import { RegistryStoreError } from '../src/store.js';
import { hasScope, TokenStore } from '../src/tokens.js';
import { tempDir } from './helpers/registry.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('webinfer-parts-'));
});
afterAll(async () => cleanup?.());

describe('parseRange', () => {
  it('parses single byte ranges against the size', () => {
    expect(parseRange(undefined, 100)).toBeUndefined();
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=90-500', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-500', 100)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=100-', 100)).toBeNull();
    expect(parseRange('bytes=50-10', 100)).toBeNull();
    expect(parseRange('bytes=-0', 100)).toBeNull();
    // Several ranges or other units: the whole body (allowed by RFC 9110).
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined();
    expect(parseRange('items=0-1', 100)).toBeUndefined();
  });
});

describe('etagMatches', () => {
  it('matches exact, weak, listed and * values only', () => {
    expect(etagMatches('"a"', '"a"')).toBe(true);
    expect(etagMatches('W/"a"', '"a"')).toBe(true);
    expect(etagMatches('"b", "a"', '"a"')).toBe(true);
    expect(etagMatches('*', '"a"')).toBe(true);
    expect(etagMatches('"b"', '"a"')).toBe(false);
    expect(etagMatches('a', '"a"')).toBe(false);
    expect(etagMatches(undefined, '"a"')).toBe(false);
  });
});

describe('scopes and the token store', () => {
  it('admin ⊃ publish ⊃ read', () => {
    expect(hasScope(['read'], 'read')).toBe(true);
    expect(hasScope(['read'], 'publish')).toBe(false);
    expect(hasScope(['publish'], 'read')).toBe(true);
    expect(hasScope(['publish'], 'admin')).toBe(false);
    expect(hasScope(['admin'], 'publish')).toBe(true);
  });

  it('refuses bad names, unknown or no scopes and duplicate live names; verifies and revokes', async () => {
    const ts = new TokenStore(dir);
    await expect(ts.create('../x', ['read'])).rejects.toMatchObject({ code: 'INVALID' });
    await expect(ts.create('x', [])).rejects.toMatchObject({ code: 'INVALID' });
    await expect(ts.create('x', ['root' as never])).rejects.toBeInstanceOf(RegistryStoreError);
    const a = await ts.create('deploy', ['publish', 'publish']);
    expect(a.record.scopes).toEqual(['publish']);
    expect(a.token).toMatch(/^wi_[A-Za-z0-9_-]{43}$/);
    await expect(ts.create('deploy', ['read'])).rejects.toMatchObject({ code: 'EXISTS' });
    expect((await ts.verify(a.token))?.name).toBe('deploy');
    expect(await ts.verify(`${a.token}x`)).toBeUndefined();
    expect(await ts.verify('')).toBeUndefined();
    expect(await ts.revoke('deploy')).toBe(1);
    expect(await ts.verify(a.token)).toBeUndefined();
    await expect(ts.revoke('deploy')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const b = await ts.create('deploy', ['read']);
    expect((await ts.verify(b.token))?.scopes).toEqual(['read']);
    const file = await readFile(path.join(dir, '.webinfer/tokens.json'), 'utf8');
    expect(file).not.toContain(a.token);
    expect(file).not.toContain(b.token);
  });
});

describe('progressBar', () => {
  it('writes one line per quarter per file when not on a terminal', () => {
    const lines: string[] = [];
    const out = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    const bar = progressBar(out, 8);
    for (let i = 0; i <= 10; i++) bar.update('w.bin', i * 1024 * 1024, 10 * 1024 * 1024);
    bar.done();
    expect(lines).toEqual([
      '[        ]   0%    0.0/10.0 MiB w.bin\n',
      '[##      ]  30%    3.0/10.0 MiB w.bin\n',
      '[####    ]  50%    5.0/10.0 MiB w.bin\n',
      '[######  ]  80%    8.0/10.0 MiB w.bin\n',
      '[########] 100%   10.0/10.0 MiB w.bin\n',
    ]);
  });
});
