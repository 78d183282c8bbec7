/**
 * Demo panel for text generation: pick a text model from the registry, a prompt (or, for a
 * model with a chat template, a conversation), temperature / top-k / max tokens, streaming
 * output, a Stop button, tokens per second and the prompt's token count. Self-contained (own
 * client and DOM) so it mounts into `#generate-panel` without touching the classification demo.
 *
 * The text shown is the model's streamed text: special tokens (`</s>`, `<|endoftext|>`) are never
 * part of it — the worker's tokenizer leaves them out — and the output wraps in its panel.
 */
import { createClient, isWebInferError, type ChatMessage, type TextGenerator } from '../src/index.js';

const REGISTRY = new URL('/registry', location.href).href;
const PREFERRED = ['llama-fortunes', 'tiny-gpt'];

interface CatalogEntry {
  readonly id: string;
  readonly task?: string;
  readonly description?: string;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

async function textModels(): Promise<CatalogEntry[]> {
  const res = await fetch(`${REGISTRY}/v1/models.json`);
  if (!res.ok) throw new Error(`registry catalogue: HTTP ${res.status}`);
  const { models } = (await res.json()) as { models: CatalogEntry[] };
  return models.filter((m) => m.task === 'text-generation');
}

export async function mountGeneratePanel(root: HTMLElement): Promise<void> {
  const modelSelect = el('select', { id: 'gen-model' });
  const description = el('p', { className: 'muted', id: 'gen-description' });
  const prompt = el('textarea', { rows: 3, value: 'Once upon a time', id: 'gen-prompt' });
  const temperature = el('input', { type: 'range', min: '0', max: '2', step: '0.05', value: '0.8', id: 'gen-temperature' });
  const topK = el('input', { type: 'number', min: '0', max: '500', value: '40', id: 'gen-topk' });
  const maxTokens = el('input', { type: 'number', min: '1', max: '250', value: '120', id: 'gen-max' });
  const seed = el('input', { type: 'number', min: '0', value: '', placeholder: 'random', id: 'gen-seed' });
  const stopAtEos = el('input', { type: 'checkbox', checked: true, id: 'gen-stop-eos' });
  const tempLabel = el('span', { textContent: temperature.value });
  const start = el('button', { textContent: 'Generate', id: 'gen-start' });
  const stop = el('button', { textContent: 'Stop', id: 'gen-stop', disabled: true });
  const clear = el('button', { textContent: 'New conversation', id: 'gen-clear', hidden: true });
  const conversation = el('div', { id: 'gen-conversation', className: 'conversation', hidden: true });
  const output = el('div', { id: 'gen-output', className: 'generated' });
  const promptInfo = el('span', { className: 'muted', id: 'gen-prompt-tokens' });
  const stats = el('p', { className: 'muted', id: 'gen-stats' });
  const error = el('p', { className: 'error', id: 'gen-error' });
  root.replaceChildren(
    el('h2', { textContent: 'Generate text' }),
    el('div', { className: 'row' }, el('label', {}, 'model ', modelSelect)),
    description,
    conversation,
    prompt,
    el('div', { className: 'row' }, promptInfo),
    el('div', { className: 'row' }, el('label', {}, 'temperature ', temperature, ' ', tempLabel), el('label', {}, ' top-k ', topK), el('label', {}, ' max tokens ', maxTokens), el('label', {}, ' seed ', seed), el('label', {}, ' ', stopAtEos, ' stop at end of text')),
    el('div', { className: 'row' }, start, stop, clear),
    output,
    stats,
    error,
  );
  temperature.addEventListener('input', () => (tempLabel.textContent = temperature.value));

  const client = createClient({ registry: REGISTRY });
  const loaded = new Map<string, Promise<TextGenerator>>();
  let controller: AbortController | undefined;
  let history: ChatMessage[] = [];
  let current: TextGenerator | undefined;

  const load = (id: string): Promise<TextGenerator> => {
    let lm = loaded.get(id);
    if (!lm) {
      lm = client.load(`${id}@stable`, { task: 'text-generation', onProgress: (p) => (stats.textContent = `loading ${id}: ${Math.round((100 * p.loaded) / Math.max(1, p.total))} %`) });
      lm.catch(() => loaded.delete(id));
      loaded.set(id, lm);
    }
    return lm;
  };
  const renderConversation = (): void => {
    conversation.replaceChildren(...history.map((m) => el('p', { className: `turn ${m.role}` }, el('b', { textContent: `${m.role}: ` }), m.content)));
  };
  const countPrompt = async (): Promise<void> => {
    if (!current) return;
    const n = await current.countTokens(current.info.chatTemplate ? [...history, { role: 'user', content: prompt.value }] : prompt.value).catch(() => undefined);
    if (n !== undefined) promptInfo.textContent = `${n} prompt tokens of ${current.info.contextLength ?? '?'}`;
  };
  const select = async (): Promise<void> => {
    error.textContent = '';
    output.textContent = '';
    history = [];
    renderConversation();
    const entry = models.find((m) => m.id === modelSelect.value);
    description.textContent = entry?.description ?? '';
    try {
      current = await load(modelSelect.value);
      const chat = current.info.chatTemplate === true;
      conversation.hidden = !chat;
      clear.hidden = !chat;
      start.textContent = chat ? 'Send' : 'Generate';
      prompt.value = chat ? 'Tell me a fortune.' : 'Once upon a time';
      stats.textContent = `${current.info.id}@${current.info.version} · ${current.info.runtime} · ${chat ? 'chat' : 'completion'}`;
      await countPrompt();
    } catch (e) {
      error.textContent = isWebInferError(e) ? `${e.name}: ${e.message}` : String(e);
    }
  };

  const models = await textModels().catch((e: unknown) => {
    error.textContent = String(e);
    return [] as CatalogEntry[];
  });
  const ordered = [...models].sort((a, b) => rank(a.id) - rank(b.id) || a.id.localeCompare(b.id));
  modelSelect.replaceChildren(...ordered.map((m) => new Option(m.id, m.id)));
  modelSelect.addEventListener('change', () => void select());
  prompt.addEventListener('input', () => void countPrompt());
  clear.addEventListener('click', () => {
    history = [];
    renderConversation();
    output.textContent = '';
    void countPrompt();
  });

  start.addEventListener('click', async () => {
    error.textContent = '';
    output.textContent = '';
    controller = new AbortController();
    start.disabled = true;
    stop.disabled = false;
    try {
      const model = await load(modelSelect.value);
      const chat = model.info.chatTemplate === true;
      const t0 = performance.now();
      let n = 0;
      const options = {
        temperature: Number(temperature.value),
        topK: Number(topK.value),
        maxTokens: Number(maxTokens.value),
        stopAtEos: stopAtEos.checked,
        signal: controller.signal,
        ...(seed.value === '' ? {} : { seed: Number(seed.value) }),
      };
      const messages: ChatMessage[] = [...history, { role: 'user', content: prompt.value }];
      if (!chat) output.append(el('span', { className: 'prompt', textContent: prompt.value }));
      const reply = el('span', { className: 'reply' });
      output.append(reply);
      const stream = chat ? model.chat(messages, options) : model.generate(prompt.value, options);
      for await (const chunk of stream) {
        reply.textContent += chunk.text;
        if (chunk.tokenId >= 0) n++;
        stats.textContent = `${n} tokens · ${((1000 * n) / (performance.now() - t0)).toFixed(1)} tokens/s`;
      }
      const r = await stream.result;
      if (chat) {
        history = [...messages, { role: 'assistant', content: r.text.trim() }];
        renderConversation();
        prompt.value = '';
      }
      stats.textContent = `${r.tokens.length} tokens in ${r.ms.toFixed(0)} ms · ${((1000 * r.tokens.length) / Math.max(1, r.ms)).toFixed(1)} tokens/s · prompt ${r.promptTokens} tokens · finish: ${r.finishReason} · backend: ${r.backend}`;
      void countPrompt();
    } catch (e) {
      error.textContent = isWebInferError(e) ? `${e.name}: ${e.message}` : String(e);
    } finally {
      start.disabled = false;
      stop.disabled = true;
    }
  });
  stop.addEventListener('click', () => controller?.abort());
  if (ordered.length > 0) await select();
  (window as unknown as { generateReady?: boolean }).generateReady = true;
}

function rank(id: string): number {
  const i = PREFERRED.indexOf(id);
  return i < 0 ? PREFERRED.length : i;
}

const root = document.getElementById('generate-panel');
if (root) void mountGeneratePanel(root);
