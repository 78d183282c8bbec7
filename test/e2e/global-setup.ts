/**
 * Before the browser tests: the built package must exist, and the fixture
 * registry is published afresh into .tmp/e2e-registry.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { REPO } from './server.js';

export default function globalSetup(): void {
  if (!existsSync(path.join(REPO, 'dist/index.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does it).');
  }
  const root = path.join(REPO, '.tmp/e2e-registry');
  rmSync(root, { recursive: true, force: true });
  const tsx = path.join(REPO, 'node_modules/tsx/dist/cli.mjs');
  execFileSync(process.execPath, [tsx, path.join(REPO, 'scripts/publish-fixtures.ts'), root], { stdio: 'inherit' });
  // `gpt2-long`: a narrow GPT-2 (8 layers × 128) with GPT-2's 1,024 positions and BPE, seeded random
  // weights, for long prompts (heartbeats during a 1,024-token prefill) — built here, not committed.
  const long = path.join(REPO, '.tmp/fixtures/gpt2-long-8x128');
  if (!existsSync(path.join(long, 'meta.json'))) {
    execFileSync(process.execPath, [tsx, path.join(REPO, 'scripts/make-gpt2.ts'), '--out', long, '--layers', '8', '--embd', '128', '--heads', '2', '--positions', '1024'], { stdio: 'inherit' });
  }
  execFileSync(process.execPath, [tsx, path.join(REPO, 'registry/src/cli.ts'), 'publish', path.join(long, 'hf'), '--root', root, '--id', 'gpt2-long', '--version', '1.0.0', '--card', path.join(long, 'hf/card.json'), '--quantize', 'int8', '--no-progress'], {
    stdio: 'inherit',
  });
}
