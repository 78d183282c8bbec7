/**
 * Publishes the benchmark-only models into the bench registry (after scripts/publish-fixtures.ts):
 * `mobilenetv2-bench` 1.0.0, the MobileNetV2 fixture of scripts/make-mobilenet.ts, built first if
 * missing. Idempotent. Node-only.
 *
 *   npx tsx bench/publish-bench-models.ts <registry root>
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { publish } from '../registry/src/publish.js';
import { RegistryStore } from '../registry/src/store.js';

const REPO = path.resolve(import.meta.dirname, '..');
const root = path.resolve(process.argv[2] ?? path.join(REPO, '.tmp/bench-registry'));
const fixture = path.join(REPO, 'bench/fixtures/mobilenetv2');

async function main(): Promise<void> {
  if (!existsSync(path.join(fixture, 'meta.json'))) {
    execFileSync(process.execPath, [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), path.join(REPO, 'scripts/make-mobilenet.ts'), '--out', fixture], { stdio: 'inherit' });
  }
  const store = new RegistryStore(root);
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
