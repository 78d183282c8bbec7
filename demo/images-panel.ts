/**
 * Demo panel for image generation: pick a generator from the registry (the Fashion-MNIST VAE or DCGAN),
 * sample a grid of pictures from a seed, and interpolate — between two Fashion-MNIST test pictures
 * (encoded by the VAE), or between the first two sampled pictures' latents (any generator).
 * Self-contained (own client and DOM): mounts into `#images-panel`.
 */
import { createClient, drawImage, isWebInferError, type GeneratedImage, type ImageGenerator } from '../src/index.js';

const REGISTRY = new URL('/registry', location.href).href;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

function grid(target: HTMLElement, images: readonly GeneratedImage[]): void {
  target.replaceChildren(
    ...images.map((image) => {
      const c = el('canvas', { className: 'pixelated' });
      drawImage(c, image);
      return c;
    }),
  );
}

async function samplePicture(file: string): Promise<Blob> {
  const res = await fetch(`/samples/fashion/${file}`);
  if (!res.ok) throw new Error(`sample ${file}: HTTP ${res.status}`);
  return res.blob();
}

export async function mountImagesPanel(root: HTMLElement): Promise<void> {
  const client = createClient({ registry: REGISTRY });
  const modelSelect = el('select', { id: 'img-model' });
  const description = el('p', { className: 'muted', id: 'img-description' });
  const count = el('input', { type: 'number', min: '1', max: '64', value: '16', id: 'img-count' });
  const seed = el('input', { type: 'number', min: '0', value: '1', id: 'img-seed' });
  const steps = el('input', { type: 'number', min: '2', max: '32', value: '8', id: 'img-steps' });
  const sample = el('button', { textContent: 'Sample', id: 'img-sample' });
  const interpolate = el('button', { textContent: 'Interpolate', id: 'img-interpolate' });
  const samples = el('div', { className: 'image-grid', id: 'img-grid' });
  const path = el('div', { className: 'image-grid', id: 'img-path' });
  const pathInfo = el('p', { className: 'muted', id: 'img-path-info' });
  const stats = el('p', { className: 'muted', id: 'img-stats' });
  const error = el('p', { className: 'error', id: 'img-error' });
  root.replaceChildren(
    el('h2', { textContent: 'Generate images' }),
    el('div', { className: 'row' }, el('label', {}, 'model ', modelSelect)),
    description,
    el('div', { className: 'row' }, el('label', {}, 'count ', count), el('label', {}, ' seed ', seed), ' ', sample),
    samples,
    stats,
    el('div', { className: 'row' }, el('label', {}, 'steps ', steps), ' ', interpolate),
    pathInfo,
    path,
    error,
  );
  const showError = (e: unknown): void => {
    error.textContent = isWebInferError(e) ? `${e.name}: ${e.message}` : String(e);
  };
  let model: ImageGenerator | undefined;
  let latents: Float32Array[] = [];
  try {
    const res = await fetch(`${REGISTRY}/v1/models.json`);
    const { models } = (await res.json()) as { models: { id: string; task: string }[] };
    const ids = models.filter((m) => m.task === 'image-generation').map((m) => m.id);
    modelSelect.replaceChildren(...ids.map((id) => el('option', { value: id, textContent: id })));
  } catch (e) {
    showError(e);
  }

  const run = async (): Promise<void> => {
    if (!model) return;
    error.textContent = '';
    try {
      const t0 = performance.now();
      const r = await model.generate({ count: Number(count.value), seed: seed.value === '' ? undefined : Number(seed.value) });
      latents = r.latents;
      grid(samples, r.images);
      stats.textContent = `${r.images.length} pictures from seed ${r.seed} in ${(performance.now() - t0).toFixed(1)} ms (one batched model run, ${model.info.backend})`;
    } catch (e) {
      showError(e);
    }
  };
  const select = async (): Promise<void> => {
    error.textContent = '';
    try {
      const next = await client.load(`${modelSelect.value}@stable`, { task: 'image-generation' });
      await model?.dispose();
      model = next;
      const g = next.generator;
      description.textContent = `${next.info.id}@${next.info.version} · ${g.kind.toUpperCase()} · latent ${g.latentDim} · ${g.width}×${g.height} · ${(next.info.bytes / 1024).toFixed(0)} KiB${next.info.description ? ` — ${next.info.description}` : ''}`;
      pathInfo.textContent = g.canEncode ? 'Interpolates between two Fashion-MNIST test pictures (a sneaker and a trouser), encoded by the VAE.' : 'Interpolates between the first two sampled pictures (a GAN has no encoder).';
      await run();
      path.replaceChildren();
    } catch (e) {
      showError(e);
    }
  };
  sample.addEventListener('click', () => void run());
  interpolate.addEventListener('click', async () => {
    if (!model) return;
    error.textContent = '';
    try {
      const n = Number(steps.value);
      const r = model.generator.canEncode
        ? await model.interpolate(await samplePicture('test-00009-7.png'), await samplePicture('test-00002-1.png'), n)
        : await model.interpolate(latents[0]!, latents[1]!, n);
      grid(path, r.images);
      (window as unknown as { imagesInterpolated?: number }).imagesInterpolated = r.images.length;
    } catch (e) {
      showError(e);
    }
  });
  modelSelect.addEventListener('change', () => void select());
  if (modelSelect.value) await select();
  (window as unknown as { imagesReady?: boolean }).imagesReady = true;
}

const root = document.getElementById('images-panel');
if (root) void mountImagesPanel(root);
