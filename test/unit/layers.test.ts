/**
 * The layer rule (`.dependency-cruiser.cjs`, run by `npm run check:layers` in `npm test`) must
 * fail on every kind of violation: each one is planted in a small tree of the same layout and
 * must be reported under its own rule, while the allowed imports beside them are not.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const depcruise = path.join(repo, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Report {
  summary: { error: number; violations: { rule: { name: string }; from: string; to: string }[] };
}

async function cruise(cwd: string): Promise<Report> {
  // depcruise exits non-zero when it finds errors; the JSON report is on stdout either way.
  const r = await run(process.execPath, [depcruise, 'src', 'workers', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], { cwd, maxBuffer: 64 * 1024 * 1024 }).catch(
    (e: { stdout?: string; code?: number }) => ({ stdout: e.stdout ?? '', code: e.code }),
  );
  return JSON.parse(r.stdout) as Report;
}

describe('layer check (dependency-cruiser)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'webinfer-layers-'));
    const files: Record<string, string> = {
      'src/shared/ok.ts': 'export const shared = 1;\n',
      'src/main.ts': "import { shared } from './shared/ok.js';\nexport const main = shared;\n",
      'workers/ok.ts': "import { shared } from '../src/shared/ok.js';\nexport const w = shared;\n",
      'src/bad-main.ts': "import { w } from '../workers/ok.js';\nexport const x = w;\n",
      'workers/bad-worker.ts': "import { main } from '../src/main.js';\nexport const y = main;\n",
      'src/shared/bad-shared.ts': "import { main } from '../main.js';\nexport const z = main;\n",
      'workers/bad-node.ts': "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n",
      'src/bad-registry.ts': "import { store } from '../registry/src/store.js';\nexport const s = store;\n",
      'registry/src/store.ts': 'export const store = 1;\n',
      'src/c1.ts': "import { c2 } from './c2.js';\nexport const c1 = () => c2;\n",
      'src/c2.ts': "import { c1 } from './c1.js';\nexport const c2 = () => c1;\n",
      'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'ESNext', moduleResolution: 'Bundler', strict: true } }),
      'package.json': JSON.stringify({ name: 'layers-fixture', type: 'module' }),
    };
    for (const [rel, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
      await writeFile(path.join(dir, rel), text);
    }
    await copyFile(path.join(repo, '.dependency-cruiser.cjs'), path.join(dir, '.dependency-cruiser.cjs'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reports each planted violation under its rule, and nothing else', async () => {
    const report = await cruise(dir);
    const found = report.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
    expect(found).toEqual(
      [
        'browser-imports-node: workers/bad-node.ts → fs',
        'browser-imports-registry: src/bad-registry.ts → registry/src/store.ts',
        'main-imports-worker: src/bad-main.ts → workers/ok.ts',
        'no-circular: src/c1.ts → src/c2.ts',
        'shared-imports-a-side: src/shared/bad-shared.ts → src/main.ts',
        'worker-imports-main: workers/bad-worker.ts → src/main.ts',
      ].sort(),
    );
  });

  it('the repository itself has no violation', async () => {
    const report = await cruise(repo);
    expect(report.summary.violations).toEqual([]);
  });
});
