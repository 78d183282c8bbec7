/**
 * Turns generated tokens into text safely for streaming: bytes go through a streaming
 * UTF-8 decoder (a character split across tokens is emitted whole, never half), and
 * text that could be the start of a stop sequence is held back until it is known
 * not to be one. Pure TypeScript.
 */
export class TextStream {
  readonly #decoder = new TextDecoder('utf-8');
  readonly #stops: readonly string[];
  /** Text decoded but not yet released (a possible stop-sequence prefix). */
  #pending = '';
  /** Everything released so far. */
  text = '';
  stopped = false;

  constructor(stops: readonly string[]) {
    this.#stops = stops.filter((s) => s.length > 0);
  }

  /** Adds a token's bytes; returns the text that can be shown now (maybe ''). */
  push(bytes: Uint8Array): string {
    if (this.stopped) return '';
    this.#pending += this.#decoder.decode(bytes, { stream: true });
    return this.#release(false);
  }

  /** End of generation: releases what was held back (and any dangling bytes as U+FFFD). */
  finish(): string {
    if (this.stopped) return '';
    this.#pending += this.#decoder.decode();
    return this.#release(true);
  }

  #release(final: boolean): string {
    const all = this.text + this.#pending;
    let cut = -1;
    for (const s of this.#stops) {
      const i = all.indexOf(s, Math.max(0, this.text.length - s.length + 1));
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      const out = all.slice(this.text.length, cut);
      this.text = all.slice(0, cut);
      this.#pending = '';
      this.stopped = true;
      return out;
    }
    let hold = 0;
    if (!final) {
      for (const s of this.#stops) {
        for (let k = Math.min(s.length - 1, this.#pending.length); k > hold; k--) {
          if (all.endsWith(s.slice(0, k))) {
            hold = k;
            break;
          }
        }
      }
    }
    const out = this.#pending.slice(0, this.#pending.length - hold);
    this.#pending = this.#pending.slice(this.#pending.length - hold);
    this.text += out;
    return out;
  }
}
