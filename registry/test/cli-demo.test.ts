/**
 * `webinfer-registry serve --demo` (issue 11): serves the registry tree of an installed `@webinfer/models`,
 * found from the current folder; clear errors without the package or with --root as well.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repo, seed, tempDir } from './helpers/registry.js';

const run = promisify(execFile);
const CLI = path.join(repo, 'registry/src/cli.ts');
/** tsx by path: the CLI runs from folders that have no node_modules. */
const TSX = pathToFileURL(path.join(repo, 'node_modules/tsx/dist/loader.mjs')).href;
// The CLI runs from another folder: tsx must still use the repo's tsconfig (its `webinfer/protocol` path to the
// source), or it resolves the built dist/, which does not exist before `npm run build` (the unit step runs first).
const ENV = { ...process.env, TSX_TSCONFIG_PATH: path.join(repo, 'tsconfig.json') };

async function cli(args: string[], cwd: string): Promise<{ code: number; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', TSX, CLI, ...args], { cwd, env: ENV });
    return { code: 0, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stderr: string };
    return { code: x.code, stderr: x.stderr };
  }
}

describe('webinfer-registry serve --demo', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    tmp = await tempDir('webinfer-demo-');
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it('refuses --demo with --root, and says what to install when @webinfer/models is missing', async () => {
    const both = await cli(['serve', '--demo', '--root', tmp.dir], tmp.dir);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('--demo and --root exclude each other');
    const missing = await cli(['serve', '--demo'], tmp.dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--demo needs the demo models: npm install @webinfer/models');
    const none = await cli(['serve'], tmp.dir);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("required option '--root <dir>' not specified (or pass --demo)");
  });

  it('serves the tree of the @webinfer/models installed in the current folder', async () => {
    const app = path.join(tmp.dir, 'app');
    const pkg = path.join(app, 'node_modules/@webinfer/models');
    await mkdir(pkg, { recursive: true });
    await writeFile(path.join(pkg, 'package.json'), JSON.stringify({ name: '@webinfer/models', version: '0.0.0', type: 'module' }));
    await seed(path.join(pkg, 'registry'));
    const child = spawn(process.execPath, ['--import', TSX, CLI, 'serve', '--demo', '--port', '0'], { cwd: app, env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let seen = '';
        const timer = setTimeout(() => reject(new Error(`no URL after 20 s: ${seen}`)), 20_000);
        child.stderr.on('data', (b: Buffer) => {
          seen += b.toString();
          const m = /serving (.+) at (http:\/\/\S+)/.exec(seen);
          if (m) {
            clearTimeout(timer);
            expect(m[1]).toBe(path.join(pkg, 'registry'));
            resolve(m[2]!.replace(/\/$/, ''));
          }
        });
      });
      const r = await fetch(`${url}/v1/models.json`);
      expect(r.status).toBe(200);
      expect(r.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
      const body = (await r.json()) as { models: { id: string }[] };
      expect(body.models.map((m) => m.id)).toEqual(['tiny-cnn']);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
