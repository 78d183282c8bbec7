/**
 * 9. Memory: tensors and bytes held by tfjs in webinfer's worker (`client.memory()`), at each
 * step: backend ready, model loaded, after the first call, after 1,000 classify calls (ten bursts
 * of 100 concurrent calls, so batching is exercised) or 20 generations, and after `dispose()`.
 * Leak = after-many minus after-first; it must be 0.
 */
import { createClient } from '../../../src/index.js';
import type { Row, Workload } from '../types.js';

export const memory: Workload = async (p) => {
  const client = createClient({ registry: p.registry, wasmThreads: p.threads });
  await client.ready();
  const rows: Row[] = [];
  const snap = async (id: string, label: string) => {
    const m = await client.memory();
    rows.push({ id: `memory.${id}.tensors`, label: `${label}: tensors`, unit: 'tensors', median: m.numTensors });
    rows.push({ id: `memory.${id}.bytes`, label: `${label}: bytes`, unit: 'bytes', median: m.numBytes });
    return m;
  };
  const base = await snap('ready', 'backend ready, no model');

  const bursts = p.smoke ? 2 : 10;
  const fashion = await client.load('fashion-mnist-cnn', { task: 'image-classification' });
  await snap('classify.loaded', 'Fashion CNN loaded');
  const img = (i: number) => ({ data: new Uint8ClampedArray(784).map((_, j) => (i * 13 + j * 7) % 256), width: 28, height: 28, channels: 1 as const });
  await fashion.classify(img(0));
  const first = await snap('classify.first', 'after the first classify');
  for (let b = 0; b < bursts; b++) await Promise.all(Array.from({ length: 100 }, (_, i) => fashion.classify(img(b * 100 + i))));
  const many = await snap('classify.many', `after ${bursts * 100} more classify calls`);
  rows.push({ id: 'memory.classify.leak.tensors', label: `tensor growth over ${bursts * 100} calls`, unit: 'tensors', median: many.numTensors - first.numTensors });
  await fashion.dispose();
  const afterFashion = await snap('classify.disposed', 'after dispose() of the Fashion CNN');

  const gens = p.smoke ? 2 : 20;
  const lm = await client.load('tiny-gpt', { task: 'text-generation' });
  await snap('generate.loaded', 'tiny-gpt loaded');
  await lm.generateText('The meaning of life is', { maxTokens: 16, temperature: 0 });
  const gFirst = await snap('generate.first', 'after the first generation');
  for (let i = 0; i < gens; i++) await lm.generateText(`Fortune ${i}:`, { maxTokens: 32, temperature: 0.8, seed: i });
  const gMany = await snap('generate.many', `after ${gens} more generations (32 tokens each)`);
  rows.push({ id: 'memory.generate.leak.tensors', label: `tensor growth over ${gens} generations`, unit: 'tensors', median: gMany.numTensors - gFirst.numTensors });
  await lm.dispose();
  const end = await snap('generate.disposed', 'after dispose() of tiny-gpt');
  await client.dispose();

  const notes: string[] = [];
  if (many.numTensors !== first.numTensors) notes.push(`LEAK: classify left ${many.numTensors - first.numTensors} tensors`);
  if (gMany.numTensors !== gFirst.numTensors) notes.push(`LEAK: generate left ${gMany.numTensors - gFirst.numTensors} tensors`);
  if (afterFashion.numTensors !== base.numTensors || end.numTensors !== base.numTensors) notes.push(`dispose() did not return to the baseline of ${base.numTensors} tensors`);
  if (notes.length) throw new Error(notes.join('; '));
  return { title: 'Memory (tfjs in the worker)', rows, notes: ['Every growth figure must be 0 and every dispose() must return to the "backend ready" baseline; the workload fails otherwise.'] };
};
