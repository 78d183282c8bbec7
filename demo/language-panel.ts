/**
 * Demo panel for text classification: the language of a sentence, shown as you type (debounced),
 * by the `langid-lstm` model (a character LSTM trained on Debian's fortunes). Self-contained (own
 * client and DOM), mounted into `#language-panel`.
 */
import { createClient, isWebInferError, type Prediction, type TextClassifier } from '../src/index.js';

const REGISTRY = new URL('/registry', location.href).href;
const NAMES: Record<string, string> = { en: 'English', de: 'German', es: 'Spanish', it: 'Italian', pt: 'Portuguese', pl: 'Polish', cs: 'Czech', ru: 'Russian', eo: 'Esperanto' };
const DEBOUNCE_MS = 200;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

export async function mountLanguagePanel(root: HTMLElement): Promise<void> {
  const input = el('textarea', { rows: 2, id: 'lang-input', value: 'Wo ist hier der nächste Bahnhof?' });
  const result = el('ol', { className: 'bars', id: 'lang-result' });
  const info = el('p', { className: 'muted', id: 'lang-info' });
  const error = el('p', { className: 'error', id: 'lang-error' });
  root.replaceChildren(el('h2', { textContent: 'Language of a sentence' }), input, result, info, error);

  const client = createClient({ registry: REGISTRY });
  let model: TextClassifier;
  try {
    model = await client.load('langid-lstm@stable', { task: 'text-classification' });
  } catch (e) {
    error.textContent = isWebInferError(e) ? `${e.name}: ${e.message}` : String(e);
    return;
  }
  const render = (top: Prediction[], ms: number): void => {
    result.replaceChildren(
      ...top.map((p) => {
        const bar = el('div', { className: 'bar' });
        bar.style.width = `${(p.score * 100).toFixed(1)}%`;
        return el('li', {}, `${NAMES[p.label] ?? p.label} (${p.label}) — ${(p.score * 100).toFixed(1)} %`, bar);
      }),
    );
    info.textContent = `classified in ${ms.toFixed(1)} ms by ${model.id}@${model.version} (${model.labels.length} languages; the first 96 characters are read)`;
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let seq = 0;
  const run = async (): Promise<void> => {
    const mine = ++seq;
    const text = input.value;
    if (text.trim() === '') {
      result.replaceChildren();
      info.textContent = 'Type a sentence.';
      error.textContent = '';
      return;
    }
    try {
      const t0 = performance.now();
      const top = await model.classify(text, { topK: 3 });
      if (mine !== seq) return; // a newer keystroke won
      error.textContent = '';
      render(top, performance.now() - t0);
    } catch (e) {
      if (mine === seq) error.textContent = isWebInferError(e) ? `${e.name}: ${e.message}` : String(e);
    }
  };
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => void run(), DEBOUNCE_MS);
  });
  await run();
  (window as unknown as { languageReady?: boolean }).languageReady = true;
}

const root = document.getElementById('language-panel');
if (root) void mountLanguagePanel(root);
