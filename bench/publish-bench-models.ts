/**
 * Publishes the benchmark-only models into the bench registry (after scripts/publish-fixtures.ts):
 * `mobilenetv2-bench` 1.0.0, the MobileNetV2 fixture of scripts/make-mobilenet.ts, and `gpt2-124m`
 * 1.0.0 (or, with `--smoke`, the small `gpt2-smoke`), the GPT-2 fixture of scripts/make-gpt2.ts
 * with its float16, int8 and int4 variants; each built first if missing. Idempotent. Node-only.
 *
 *   npx tsx bench/publish-bench-models.ts <registry root> [--smoke]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { publish } from '../registry/src/publish.js';
import { RegistryStore } from '../registry/src/store.js';

const REPO = path.resolve(import.meta.dirname, '..');
const root = path.resolve(process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : path.join(REPO, '.tmp/bench-registry'));
const smoke = process.argv.includes('--smoke');
const fixture = path.join(REPO, 'bench/fixtures/mobilenetv2');
const tsx = path.join(REPO, 'node_modules/tsx/dist/cli.mjs');

/** The GPT-2 fixture: GPT-2 small's shape, or a 2 × 128 one for smoke runs (same vocabulary). */
async function publishGpt2(store: RegistryStore): Promise<void> {
  const id = smoke ? 'gpt2-smoke' : 'gpt2-124m';
  const dir = path.join(REPO, 'bench/fixtures', id);
  if (!existsSync(path.join(dir, 'meta.json'))) {
    const shape = smoke ? ['--layers', '2', '--embd', '128', '--heads', '2', '--positions', '128'] : [];
    execFileSync(process.execPath, [tsx, path.join(REPO, 'scripts/make-gpt2.ts'), '--out', dir, ...shape], { stdio: 'inherit' });
  }
  if (await store.readManifest(id, '1.0.0')) {
    console.log(`skip ${id}@1.0.0 (already published)`);
    return;
  }
  const card = JSON.parse(readFileSync(path.join(dir, 'hf/card.json'), 'utf8')) as Record<string, unknown>;
  await publish({ root, modelDir: path.join(dir, 'hf'), id, version: '1.0.0', aliases: ['stable'], card, quantize: ['float16', 'int8', 'int4'], now: new Date('2026-01-01T00:00:00.000Z') });
  console.log(`published ${id}@1.0.0 (float32, float16, int8, int4)`);
}

async function main(): Promise<void> {
  if (!existsSync(path.join(fixture, 'meta.json'))) {
    execFileSync(process.execPath, [tsx, path.join(REPO, 'scripts/make-mobilenet.ts'), '--out', fixture], { stdio: 'inherit' });
  }
  const store = new RegistryStore(root);
  await publishGpt2(store);
  if (await store.readManifest('mobilenetv2-bench', '1.0.0')) {
    console.log('skip mobilenetv2-bench@1.0.0 (already published)');
    return;
  }
  const card = JSON.parse(readFileSync(path.join(fixture, 'tfjs/card.json'), 'utf8')) as Record<string, unknown>;
  await publish({ root, modelDir: path.join(fixture, 'tfjs'), id: 'mobilenetv2-bench', version: '1.0.0', aliases: ['stable'], card, now: new Date('2026-01-01T00:00:00.000Z') });
  console.log('published mobilenetv2-bench@1.0.0 (stable)');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
