/**
 * The webinfer demo: pick a model from the registry catalogue, drop/upload/draw an
 * image, see the top-k labels, the download progress, the backend and why, and the
 * latency — while the main thread stays responsive (the heartbeat keeps spinning).
 */
import { createClient, isWebInferError, type Classifier, type DtypePreference, type Prediction } from '../src/index.js';

const REGISTRY = new URL('/registry', location.href).href;
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

const client = createClient({ registry: REGISTRY });
let model: Classifier | undefined;
let loadController: AbortController | undefined;

interface CatalogEntry { id: string; task: string; description?: string; aliases: Record<string, string>; versions?: string[] }

function showError(e: unknown): void {
  $('error').textContent = isWebInferError(e) ? `${e.name}: ${e.message}` : String(e);
}

async function showBackend(): Promise<void> {
  const b = await client.ready();
  const el = $('backend');
  el.textContent = `backend: ${b.name}${b.name === 'wasm' ? (b.simd ? ' + SIMD' : '') + (b.threads ? ` + threads (${b.threadCount})` : '') : ''}`;
  el.className = `badge ${b.name}`;
  el.title = `${b.reason}\n\nNot chosen:\n${b.rejected.map((r) => `• ${r.name}: ${r.reason}`).join('\n')}`;
}

async function loadCatalog(): Promise<CatalogEntry[]> {
  const res = await fetch(`${REGISTRY}/v1/models.json`);
  if (!res.ok) throw new Error(`registry catalogue: HTTP ${res.status}`);
  const catalog = (await res.json()) as { models: CatalogEntry[] };
  return catalog.models.filter((m) => m.task === 'image-classification');
}

async function selectModel(ref: string): Promise<void> {
  loadController?.abort();
  loadController = new AbortController();
  const bar = $('progress-bar');
  const text = $('progress-text');
  $('error').textContent = '';
  bar.style.width = '0';
  try {
    const next = await client.load(ref, {
      task: 'image-classification',
      dtype: $<HTMLSelectElement>('dtype').value as DtypePreference,
      signal: loadController.signal,
      onProgress: (p) => {
        bar.style.width = `${p.total ? (100 * p.loaded) / p.total : 100}%`;
        text.textContent = `${(p.loaded / 1024).toFixed(0)} / ${(p.total / 1024).toFixed(0)} KiB ${p.file ? `(${p.file}, from ${p.source})` : ''}`;
      },
    });
    await model?.dispose();
    model = next;
    const i = next.info;
    $('model-info').textContent = `${i.id}@${i.version} · ${i.format} · ${i.dtype} weights (${i.dtypeReason ?? ''}) · ${(i.bytes / 1024).toFixed(0)} KiB · ${i.downloadedBytes ? `downloaded ${(i.downloadedBytes / 1024).toFixed(0)} KiB` : 'from cache'}${i.offline ? ' · offline' : ''} · ${i.labels.length} labels${i.description ? ` — ${i.description}` : ''}`;
    await showBackend();
  } catch (e) {
    if (!(isWebInferError(e) && e.name === 'AbortError')) showError(e);
  }
}

function render(top: Prediction[], ms: number): void {
  const list = $('result');
  list.replaceChildren(
    ...top.map((p) => {
      const li = document.createElement('li');
      li.innerHTML = `<span></span><div class="bar"></div>`;
      (li.firstChild as HTMLElement).textContent = `${p.label} — ${(p.score * 100).toFixed(1)}%`;
      (li.lastChild as HTMLElement).style.width = `${Math.max(1, p.score * 100)}%`;
      return li;
    }),
  );
  $('latency').textContent = `classified in ${ms.toFixed(1)} ms (round trip to the worker, pre-processing and inference)`;
}

async function classify(image: Blob | HTMLCanvasElement): Promise<void> {
  if (!model) return;
  $('error').textContent = '';
  try {
    const t0 = performance.now();
    const top = await model.classify(image, { topK: 5 });
    render(top, performance.now() - t0);
  } catch (e) {
    showError(e);
  }
}

interface Sample { file: string; index: number; label: string }

/** Thumbnails of Fashion-MNIST test images (demo/public/samples, written by train.py). */
async function setUpSamples(): Promise<void> {
  const res = await fetch('./samples/fashion/samples.json');
  if (!res.ok) return;
  const samples = (await res.json()) as Sample[];
  $('samples').replaceChildren(
    ...samples.map((s) => {
      const b = document.createElement('button');
      b.title = `test image #${s.index}: ${s.label}`;
      b.dataset['label'] = s.label;
      const img = new Image(28, 28);
      img.src = `./samples/fashion/${s.file}`;
      img.alt = s.label;
      b.append(img);
      b.addEventListener('click', async () => {
        const blob = await (await fetch(img.src)).blob();
        const bitmap = await createImageBitmap(blob);
        const canvas = $<HTMLCanvasElement>('draw');
        const ctx = canvas.getContext('2d')!;
        ctx.imageSmoothingEnabled = false;
        ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        await classify(blob);
      });
      return b;
    }),
  );
}

function setUpDrawing(): void {
  const canvas = $<HTMLCanvasElement>('draw');
  const ctx = canvas.getContext('2d')!;
  const clear = (): void => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  let drawing = false;
  canvas.addEventListener('pointerdown', (e) => {
    drawing = true;
    ctx.beginPath();
    ctx.moveTo(e.offsetX, e.offsetY);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!drawing) return;
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 18;
    ctx.lineCap = 'round';
    ctx.lineTo(e.offsetX, e.offsetY);
    ctx.stroke();
  });
  addEventListener('pointerup', () => {
    if (drawing) void classify(canvas);
    drawing = false;
  });
  $('clear').addEventListener('click', clear);
  $('classify').addEventListener('click', () => void classify(canvas));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = e.dataTransfer?.files[0];
    if (file) void classify(file);
  });
  $<HTMLInputElement>('file').addEventListener('change', (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (file) void classify(file);
  });
}

async function main(): Promise<void> {
  setUpDrawing();
  void setUpSamples().catch(showError);
  void showBackend().catch(showError);
  const models = await loadCatalog();
  const modelSelect = $<HTMLSelectElement>('model');
  const versionSelect = $<HTMLSelectElement>('version');
  modelSelect.replaceChildren(...models.map((m) => new Option(`${m.id}${m.description ? '' : ''}`, m.id)));
  // The trained model first, when the registry has it.
  if (models.some((m) => m.id === 'fashion-mnist-cnn')) modelSelect.value = 'fashion-mnist-cnn';
  const fillVersions = (): void => {
    const m = models.find((x) => x.id === modelSelect.value);
    if (!m) return;
    const options = [
      ...Object.entries(m.aliases).map(([alias, v]) => new Option(`@${alias} → ${v}`, `${m.id}@${alias}`)),
      ...(m.versions ?? []).map((v) => new Option(v, `${m.id}@${v}`)),
    ];
    versionSelect.replaceChildren(...options);
    const stable = options.find((o) => o.value.endsWith('@stable'));
    if (stable) versionSelect.value = stable.value;
  };
  modelSelect.addEventListener('change', () => {
    fillVersions();
    void selectModel(versionSelect.value);
  });
  versionSelect.addEventListener('change', () => void selectModel(versionSelect.value));
  $('dtype').addEventListener('change', () => void selectModel(versionSelect.value));
  fillVersions();
  if (versionSelect.value) await selectModel(versionSelect.value);
  (window as unknown as { demoReady: boolean }).demoReady = true;
}

main().catch(showError);
