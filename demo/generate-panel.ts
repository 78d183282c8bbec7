/**
 * Demo panel for text generation: a prompt, temperature / top-k / max tokens, streaming
 * output, a Stop button and tokens per second. Self-contained (own client and DOM) so
 * it mounts into `#generate-panel` without touching the classification demo.
 */
import { createClient, isWebInferError, type TextGenerator } from '../src/index.js';

const REGISTRY = new URL('/registry', location.href).href;
const MODEL = new URLSearchParams(location.search).get('lm') ?? 'tiny-gpt@stable';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

export function mountGeneratePanel(root: HTMLElement): void {
  const prompt = el('textarea', { rows: 3, value: 'Once upon a time', id: 'gen-prompt' });
  const temperature = el('input', { type: 'range', min: '0', max: '2', step: '0.05', value: '0.8', id: 'gen-temperature' });
  const topK = el('input', { type: 'number', min: '0', max: '500', value: '40', id: 'gen-topk' });
  const maxTokens = el('input', { type: 'number', min: '1', max: '250', value: '120', id: 'gen-max' });
  // The tiny demo model often predicts end-of-text after a few tokens; let it run on by default.
  const stopAtEos = el('input', { type: 'checkbox', checked: false, id: 'gen-stop-eos' });
  const tempLabel = el('span', { textContent: temperature.value });
  const start = el('button', { textContent: 'Generate', id: 'gen-start' });
  const stop = el('button', { textContent: 'Stop', id: 'gen-stop', disabled: true });
  const output = el('pre', { id: 'gen-output', className: 'generated' });
  const stats = el('p', { className: 'muted', id: 'gen-stats' });
  const error = el('p', { className: 'error', id: 'gen-error' });
  root.replaceChildren(
    el('h2', { textContent: `Generate text (${MODEL})` }),
    prompt,
    el('div', { className: 'row' }, el('label', {}, 'temperature ', temperature, ' ', tempLabel), el('label', {}, ' top-k ', topK), el('label', {}, ' max tokens ', maxTokens), el('label', {}, ' ', stopAtEos, ' stop at end-of-text')),
    el('div', { className: 'row' }, start, stop),
    output,
    stats,
    error,
  );
  temperature.addEventListener('input', () => (tempLabel.textContent = temperature.value));

  const client = createClient({ registry: REGISTRY });
  let lm: Promise<TextGenerator> | undefined;
  let controller: AbortController | undefined;

  start.addEventListener('click', async () => {
    error.textContent = '';
    output.textContent = '';
    controller = new AbortController();
    start.disabled = true;
    stop.disabled = false;
    try {
      lm ??= client.load(MODEL, { task: 'text-generation', onProgress: (p) => (stats.textContent = `loading ${Math.round((100 * p.loaded) / Math.max(1, p.total))} %`) });
      const model = await lm;
      const t0 = performance.now();
      let n = 0;
      const stream = model.generate(prompt.value, { temperature: Number(temperature.value), topK: Number(topK.value), maxTokens: Number(maxTokens.value), stopAtEos: stopAtEos.checked, signal: controller.signal });
      for await (const chunk of stream) {
        output.textContent += chunk.text;
        if (chunk.tokenId >= 0) n++;
        stats.textContent = `${n} tokens · ${((1000 * n) / (performance.now() - t0)).toFixed(1)} tokens/s`;
      }
      const r = await stream.result;
      stats.textContent = `${r.tokens.length} tokens in ${r.ms.toFixed(0)} ms · ${((1000 * r.tokens.length) / Math.max(1, r.ms)).toFixed(1)} tokens/s · ${r.messages} messages · finish: ${r.finishReason} · backend: ${r.backend}`;
    } catch (e) {
      lm = undefined;
      error.textContent = isWebInferError(e) ? `${e.name}: ${e.message}` : String(e);
    } finally {
      start.disabled = false;
      stop.disabled = true;
    }
  });
  stop.addEventListener('click', () => controller?.abort());
}

const root = document.getElementById('generate-panel');
if (root) mountGeneratePanel(root);
