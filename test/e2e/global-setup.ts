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
  execFileSync(process.execPath, [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), path.join(REPO, 'scripts/publish-fixtures.ts'), root], { stdio: 'inherit' });
}
