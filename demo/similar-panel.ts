/**
 * Demo panel for feature extraction: "similar items". A few hundred Fashion-MNIST test pictures
 * (demo/public/samples/fashion/gallery.u8) are embedded in the page by `fashion-embed` (the Fashion CNN's
 * Dense-64 layer, L2-normalised); click one of the demo's sample images and its nearest neighbours
 * (cosine similarity) are shown. Self-contained, mounted into `#similar-panel`.
 */
import { createClient, isWebInferError, type Embedder } from '../src/index.js';

const REGISTRY = new URL('/registry', location.href).href;
const SHOWN = 8;

interface Gallery {
  readonly count: number;
  readonly indices: number[];
  readonly labels: string[];
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

/** A 28×28 grayscale picture as a small canvas. */
function thumbnail(pixels: Uint8Array): HTMLCanvasElement {
  const c = el('canvas', { width: 28, height: 28, className: 'thumb' });
  const rgba = new Uint8ClampedArray(28 * 28 * 4);
  pixels.forEach((v, i) => rgba.set([v, v, v, 255], i * 4));
  c.getContext('2d')!.putImageData(new ImageData(rgba, 28, 28), 0, 0);
  return c;
}

export async function mountSimilarPanel(root: HTMLElement): Promise<void> {
  const status = el('p', { className: 'muted', id: 'similar-status', textContent: 'Embedding the gallery…' });
  const query = el('div', { id: 'similar-query', className: 'similar' });
  const result = el('div', { id: 'similar-result', className: 'similar' });
  const error = el('p', { className: 'error', id: 'similar-error' });
  root.replaceChildren(el('h2', { textContent: 'Similar items' }), el('p', { className: 'muted', textContent: 'Click a sample image above: its nearest neighbours among 300 Fashion-MNIST test pictures, by embedding.' }), query, result, status, error);

  const client = createClient({ registry: REGISTRY });
  let model: Embedder;
  let gallery: Gallery;
  let pixels: Uint8Array;
  let rows: Float32Array[];
  try {
    model = await client.load('fashion-embed@stable', { task: 'feature-extraction' });
    gallery = (await (await fetch('./samples/fashion/gallery.json')).json()) as Gallery;
    pixels = new Uint8Array(await (await fetch('./samples/fashion/gallery.u8')).arrayBuffer());
    const t0 = performance.now();
    rows = await model.embed(
      Array.from({ length: gallery.count }, (_, i) => ({ data: pixels.slice(i * 784, (i + 1) * 784), width: 28, height: 28, channels: 1 as const })),
      { normalize: true },
    );
    status.textContent = `${gallery.count} pictures embedded (${rows[0]!.length} values each) in ${(performance.now() - t0).toFixed(0)} ms by ${model.id}@${model.version}.`;
  } catch (e) {
    error.textContent = isWebInferError(e) ? `${e.name}: ${e.message}` : String(e);
    return;
  }

  const show = async (img: HTMLImageElement, label: string, testIndex: number): Promise<void> => {
    try {
      const [q] = await model.embed([img], { normalize: true });
      const scored = rows
        .map((r, i) => ({ i, sim: r.reduce((s, x, k) => s + x * q![k]!, 0) }))
        .filter((s) => gallery.indices[s.i] !== testIndex) // not the picture itself
        .sort((a, b) => b.sim - a.sim)
        .slice(0, SHOWN);
      query.replaceChildren(el('figure', {}, thumbnail(await pixelsOf(img)), el('figcaption', { textContent: `query: ${label}` })));
      result.replaceChildren(
        ...scored.map((s) => {
          const fig = el('figure', { className: gallery.labels[s.i] === label ? 'same' : 'other' }, thumbnail(pixels.subarray(s.i * 784, (s.i + 1) * 784)), el('figcaption', { textContent: `${gallery.labels[s.i]} · ${s.sim.toFixed(3)}` }));
          fig.dataset['label'] = gallery.labels[s.i]!;
          return fig;
        }),
      );
      const same = scored.filter((s) => gallery.labels[s.i] === label).length;
      status.textContent = `${same} of the ${SHOWN} nearest are ${label}.`;
      error.textContent = '';
    } catch (e) {
      error.textContent = isWebInferError(e) ? `${e.name}: ${e.message}` : String(e);
    }
  };
  // The demo's sample buttons (demo/main.ts): one listener on the document, so that panel stays as it is.
  document.addEventListener('click', (ev) => {
    const button = (ev.target as HTMLElement | null)?.closest<HTMLButtonElement>('#samples button');
    const img = button?.querySelector('img');
    if (!button || !img) return;
    const index = Number(/test image #(\d+)/.exec(button.title)?.[1] ?? -1);
    void show(img, button.dataset['label'] ?? '', index);
  });
  (window as unknown as { similarReady?: boolean }).similarReady = true;
}

/** The grayscale pixels of a 28×28 <img>. */
async function pixelsOf(img: HTMLImageElement): Promise<Uint8Array> {
  const c = new OffscreenCanvas(28, 28);
  const ctx = c.getContext('2d')!;
  ctx.drawImage(img, 0, 0, 28, 28);
  const rgba = ctx.getImageData(0, 0, 28, 28).data;
  return Uint8Array.from({ length: 784 }, (_, i) => rgba[i * 4]!);
}

const root = document.getElementById('similar-panel');
if (root) void mountSimilarPanel(root);
