/** SHA-256 of bytes as lower-case hex (WebCrypto; needs a secure context such as https or localhost). */
export async function sha256Hex(data: ArrayBuffer | Uint8Array): Promise<string> {
  const view = data instanceof Uint8Array ? data : new Uint8Array(data);
  const digest = await crypto.subtle.digest('SHA-256', view as Uint8Array<ArrayBuffer>);
  const bytes = new Uint8Array(digest);
  let hex = '';
  for (let i = 0; i < bytes.length; i++) hex += (bytes[i] as number).toString(16).padStart(2, '0');
  return hex;
}

/** SHA-256 of bytes as a Subresource Integrity string, `sha256-<base64>`. */
export async function sha256Integrity(data: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
  let bin = '';
  for (let i = 0; i < digest.length; i++) bin += String.fromCharCode(digest[i] as number);
  return `sha256-${btoa(bin)}`;
}

const fromBase64 = (b64: string): Uint8Array<ArrayBuffer> => {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
};

/** Checks an Ed25519 signature (base64) of `data` by `key` (`ed25519:<base64 raw public key>`), with WebCrypto. */
export async function verifyEd25519(key: string, sigBase64: string, data: Uint8Array): Promise<boolean> {
  try {
    const pub = await crypto.subtle.importKey('raw', fromBase64(key.slice('ed25519:'.length)), { name: 'Ed25519' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'Ed25519' }, pub, fromBase64(sigBase64), data as Uint8Array<ArrayBuffer>);
  } catch {
    return false;
  }
}
