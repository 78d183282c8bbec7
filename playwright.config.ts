/**
 * Playwright: headless Chromium from the system (Debian's /usr/bin/chromium, or
 * CHROMIUM_PATH). A missing browser is a failure with a clear message, never a skip.
 *
 * Two projects: `wasm` (a browser without WebGPU) and `webgpu` (the same browser
 * with --enable-unsafe-webgpu, which gives a software adapter on this machine).
 */
import { existsSync } from 'node:fs';
import { defineConfig } from '@playwright/test';

const executablePath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
if (!existsSync(executablePath)) {
  throw new Error(
    `No Chromium at ${executablePath}. Install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium/Chrome binary. Browser tests never skip.`,
  );
}
const baseArgs = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export default defineConfig({
  testDir: 'test/e2e',
  testMatch: /.*\.spec\.ts$/,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: process.env['CI'] ? 2 : 2,
  retries: 0,
  forbidOnly: true,
  reporter: [['list'], ['json', { outputFile: 'test-results/e2e.json' }]],
  globalSetup: './test/e2e/global-setup.ts',
  use: { headless: true, launchOptions: { executablePath, args: baseArgs } },
  projects: [
    { name: 'wasm', testIgnore: /webgpu\.spec\.ts$/, use: { launchOptions: { executablePath, args: baseArgs } } },
    { name: 'webgpu', testMatch: /(webgpu|fashion-parity|imagegen-parity|langid-parity|embed-parity)\.spec\.ts$/, use: { launchOptions: { executablePath, args: [...baseArgs, '--enable-unsafe-webgpu'] } } },
  ],
});
