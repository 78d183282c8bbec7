// Helpers for the e2e tests, loaded by every test page. Plain JS, no imports.
window.util = {
  /** A deterministic test picture: smooth gradients plus a pattern, values 0–255. */
  pattern(width, height, channels, seed = 1) {
    const data = new Uint8ClampedArray(width * height * channels);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        for (let c = 0; c < channels; c++) {
          const v = channels === 4 && c === 3 ? 255 : (x * (7 + seed) + y * (13 + c * seed) + ((x * y) % (5 + seed)) * 17) % 256;
          data[(y * width + x) * channels + c] = v;
        }
      }
    }
    return data;
  },
  /** The same picture in every input type classify() accepts. */
  async allInputs(width, height) {
    const rgba = window.util.pattern(width, height, 4);
    const imageData = new ImageData(rgba.slice(), width, height);
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    canvas.getContext('2d').putImageData(imageData, 0, 0);
    const offscreen = new OffscreenCanvas(width, height);
    offscreen.getContext('2d').putImageData(imageData, 0, 0);
    const bitmap = await createImageBitmap(imageData);
    const blob = await offscreen.convertToBlob({ type: 'image/png' });
    const file = new File([blob], 'pattern.png', { type: 'image/png' });
    const img = new Image();
    img.src = URL.createObjectURL(blob);
    await img.decode();
    return {
      raw: { data: rgba.slice(), width, height, channels: 4 },
      imageData,
      canvas,
      offscreen,
      bitmap,
      blob,
      file,
      img,
    };
  },
  /** An error as plain data, for assertions in Node. */
  err(e) {
    if (!e || typeof e !== 'object') return { thrown: String(e) };
    return {
      name: e.name,
      code: e.code,
      message: e.message,
      fields: e.fields ?? null,
      isWebInferError: window.webinfer ? window.webinfer.isWebInferError(e) : undefined,
      instanceOfOwnClass: window.webinfer && window.webinfer[e.name] ? e instanceof window.webinfer[e.name] : false,
      cause: e.cause ? { name: e.cause.name, message: e.cause.message } : null,
    };
  },
  /** Runs fn, returning { ok, value } or { ok: false, error }. */
  async attempt(fn) {
    try {
      return { ok: true, value: await fn() };
    } catch (e) {
      return { ok: false, error: window.util.err(e) };
    }
  },
};
