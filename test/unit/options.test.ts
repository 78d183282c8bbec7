/**
 * Client options are checked before any work starts: a wrong `signal`, a time limit of 0, -1 or NaN, a request
 * limit of 0 are InvalidInputErrors naming the field (the worker is never started), and defaults bound a load.
 */
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/client.js';
import { WorkerHost } from '../../src/worker-host.js';

const noWorker = (): Worker => {
  throw new Error('the worker must not start for a bad option');
};
const client = (over: Record<string, unknown> = {}) => createClient({ registry: 'http://127.0.0.1:1', createWorker: noWorker, ...over });
const bad = (field: string) => ({ name: 'InvalidInputError', code: 'INVALID_INPUT', fields: { reason: 'bad-option', field } });

describe('client options', () => {
  it.each([-1, 0, NaN, '5', null])('load({ timeoutMs: %s }) is an InvalidInputError', async (timeoutMs) => {
    await expect(client().load('m', { timeoutMs: timeoutMs as never })).rejects.toMatchObject(bad('timeoutMs'));
  });

  it.each(['x', 42, {}, { aborted: false }])('load({ signal: %j }) is an InvalidInputError, not a TypeError', async (signal) => {
    await expect(client().load('m', { signal: signal as never })).rejects.toMatchObject(bad('signal'));
  });

  it.each(['sha256-abc', 'sha384-' + 'A'.repeat(63) + '=', 42])('load({ integrity: %j }) is an InvalidInputError', async (integrity) => {
    await expect(client().load('m', { integrity: integrity as never })).rejects.toMatchObject(bad('integrity'));
  });

  it('client.classify() and ready() check signal and timeoutMs too', async () => {
    await expect(client().classify('m', new Uint8Array(4) as never, { signal: 'x' as never })).rejects.toMatchObject(bad('signal'));
    await expect(client().classify('m', new Uint8Array(4) as never, { timeoutMs: -1 })).rejects.toMatchObject(bad('timeoutMs'));
    await expect(client().ready({ signal: 'x' as never })).rejects.toMatchObject(bad('signal'));
  });

  it.each([
    ['requestTimeoutMs', 0],
    ['requestTimeoutMs', Infinity],
    ['requestTimeoutMs', NaN],
    ['unresponsiveTimeoutMs', 0],
    ['callTimeoutMs', 0],
    ['callTimeoutMs', -5],
    ['loadTimeoutMs', 0],
    ['loadTimeoutMs', NaN],
    ['minBytesPerSecond', -1],
  ])('createClient({ %s: %s }) is an InvalidInputError', (field, value) => {
    expect(() => client({ [field]: value })).toThrow(expect.objectContaining(bad(field)));
  });

  it.each([{ keys: 'ed25519:x' }, { keys: ['rsa:abc'] }, { keys: [42] }, 'x'])('createClient({ trust: %j }) is an InvalidInputError', (trust) => {
    expect(() => client({ trust })).toThrow(expect.objectContaining(bad('trust.keys')));
  });

  it('Infinity is an explicit "no limit" where a limit may be lifted', () => {
    expect(() => client({ loadTimeoutMs: Infinity, callTimeoutMs: Infinity, minBytesPerSecond: 0 })).not.toThrow();
  });

  it('WorkerHost.call refuses a bad signal or limit before starting a worker', async () => {
    let started = 0;
    const host = new WorkerHost({
      init: {} as never,
      createWorker: () => {
        started++;
        throw new Error('no');
      },
      unresponsiveTimeoutMs: 1000,
    });
    await expect(host.call(async () => 1, { operation: 'x', signal: 'x' as never })).rejects.toMatchObject(bad('signal'));
    await expect(host.call(async () => 1, { operation: 'x', timeoutMs: NaN })).rejects.toMatchObject(bad('timeoutMs'));
    expect(started).toBe(0);
  });
});
