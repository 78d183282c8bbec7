// The same app in every consumer (test/consumers/<tool>/): what the README's quick start shows. Classifies one
// Fashion-MNIST image with fashion-mnist-cnn@stable and continues a prompt greedily with tiny-gpt@stable, from the demo
// registry, and prints label, score, text, backend and threads into #out (and window.webinferResult) for scripts/consumers.ts.
import { createClient } from 'webinfer';
import { IMAGE } from './image.js';

async function main() {
  const registry = new URLSearchParams(location.search).get('registry') ?? 'http://127.0.0.1:8080';
  const client = createClient({ registry });
  try {
    const model = await client.load('fashion-mnist-cnn@stable', { task: 'image-classification' });
    const [top] = await model.classify({ data: IMAGE, width: 28, height: 28, channels: 1 }, { topK: 1 });
    const lm = await client.load('tiny-gpt@stable', { task: 'text-generation' });
    const { text, finishReason } = await lm.generateText('Once upon a time', { maxTokens: 16, temperature: 0 });
    const b = client.backend;
    return { label: top.label, score: top.score, text, finishReason, backend: b.name, threads: b.threadCount, simd: b.simd, crossOriginIsolated: b.crossOriginIsolated, rejected: b.rejected };
  } finally {
    await client.dispose();
  }
}

main().then(
  (result) => show(result),
  (e) => show({ error: `${e?.name ?? 'Error'}: ${e?.message ?? String(e)}` }),
);

function show(result) {
  window.webinferResult = result;
  document.getElementById('out').textContent = JSON.stringify(result);
}
