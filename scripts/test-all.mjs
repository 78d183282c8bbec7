#!/usr/bin/env node
/**
 * `npm test`: every test, in order — type checks, the layer check (dependency-cruiser),
 * type-level API tests, unit tests (vitest: the browser package's and the registry
 * package's), the build of both packages, the package checks (packed, installed, bundled),
 * the consumer app build, the consumer apps per bundler (scripts/consumers.ts), the browser tests (Playwright, headless Chromium, with and without
 * WebGPU), then the benchmark harness in smoke mode. Stops at the first failing step and
 * ends with one summary line: `webinfer: N passed, M failed`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';

const steps = [
  ['typecheck', 'npm', ['run', '--silent', 'typecheck']],
  // The layer rule (main thread and worker import only src/shared): dependency-cruiser, .dependency-cruiser.cjs.
  ['layer check', 'npm', ['run', '--silent', 'check:layers']],
  // The committed engine binaries are rebuilt from workers/engine/native/engine.c and must match byte for byte.
  ['engine build check', 'bash', ['scripts/build-engine.sh', '--check']],
  ['type-level API tests', 'npm', ['run', '--silent', 'test:types']],
  ['unit tests', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', '--outputFile=.tmp/reports/unit.json']],
  ['build', 'npm', ['run', '--silent', 'build']],
  // Both packages as users get them: packed from a clean copy, installed into an empty folder (scripts/check-package.mjs).
  ['package checks', 'npm', ['run', '--silent', 'check:package']],
  ['consumer app build', 'npm', ['run', '--silent', 'build:consumer']],
  // Fresh apps per tool (Vite latest dev+build, Vite 5 dev+build, esbuild, Rollup, webpack 5) installing the packed
  // tarballs, opened in headless Chromium with COOP/COEP (scripts/consumers.ts).
  ['consumer apps per bundler', 'npx', ['tsx', 'scripts/consumers.ts']],
  ['browser tests', 'npx', ['playwright', 'test']],
  // The benchmark harness in smoke mode (few iterations): proves every workload still runs; its numbers are not meaningful.
  ['benchmark smoke run', 'npx', ['tsx', 'bench/run.ts', '--smoke', '--skip-lib-build']],
];

rmSync('.tmp/reports/unit.json', { force: true });
rmSync('test-results/e2e.json', { force: true });
rmSync('bench/results/smoke.json', { force: true });
const t0 = Date.now();
let failedStep;
let typeCounts = { passed: 0, failed: 0 };
/** Steps whose output is counted line by line (`ok …` / `FAIL …`), or as one test when they print no such lines. */
const counted = { passed: 0, failed: 0 };
const LINE_COUNTED = new Set(['layer check', 'engine build check', 'package checks', 'consumer apps per bundler']);
for (const [name, cmd, args] of steps) {
  console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
  const started = Date.now();
  const piped = name === 'type-level API tests' || LINE_COUNTED.has(name);
  const r = spawnSync(cmd, args, { stdio: piped ? ['inherit', 'pipe', 'inherit'] : 'inherit', env: process.env });
  if (LINE_COUNTED.has(name) && r.stdout) {
    const out = r.stdout.toString();
    process.stdout.write(out);
    const ok = (out.match(/^ok {3}/gm) ?? []).length;
    const bad = (out.match(/^FAIL /gm) ?? []).length;
    if (ok + bad === 0) r.status === 0 ? counted.passed++ : counted.failed++;
    else {
      counted.passed += ok;
      counted.failed += bad;
    }
  }
  if (name === 'type-level API tests' && r.stdout) {
    const out = r.stdout.toString();
    process.stdout.write(out);
    const m = /(\d+) passed, (\d+) failed/.exec(out);
    if (m) typeCounts = { passed: Number(m[1]), failed: Number(m[2]) };
  }
  console.log(`=== ${name}: ${r.status === 0 ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (r.status !== 0) {
    failedStep = name;
    break;
  }
}

function counts() {
  let passed = typeCounts.passed + counted.passed;
  let failed = typeCounts.failed + counted.failed;
  if (existsSync('.tmp/reports/unit.json')) {
    const u = JSON.parse(readFileSync('.tmp/reports/unit.json', 'utf8'));
    passed += u.numPassedTests ?? 0;
    failed += u.numFailedTests ?? 0;
  }
  if (existsSync('test-results/e2e.json')) {
    const e = JSON.parse(readFileSync('test-results/e2e.json', 'utf8'));
    passed += e.stats?.expected ?? 0;
    failed += (e.stats?.unexpected ?? 0) + (e.stats?.flaky ?? 0);
  }
  if (existsSync('bench/results/smoke.json')) {
    // Each benchmark workload that ran counts as one test.
    const b = JSON.parse(readFileSync('bench/results/smoke.json', 'utf8'));
    passed += Object.keys(b.workloads ?? {}).length;
    failed += (b.failures ?? []).length;
  }
  return { passed, failed };
}
const { passed, failed } = counts();
console.log(`\n${failedStep ? `step "${failedStep}" failed; ` : ''}all steps took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
console.log(`webinfer: ${passed} passed, ${failed + (failedStep && failed === 0 ? 1 : 0)} failed`);
process.exit(failedStep ? 1 : 0);
