import type * as Webinfer from '../../src/index.js';

declare global {
  interface Window {
    webinfer: typeof Webinfer;
    harnessReady: boolean;
    util: {
      pattern(width: number, height: number, channels: number, seed?: number): Uint8ClampedArray;
      allInputs(width: number, height: number): Promise<Record<string, unknown>>;
      err(e: unknown): { name?: string; code?: string; message?: string; fields?: Record<string, unknown> | null; isWebInferError?: boolean; instanceOfOwnClass?: boolean; cause?: { name: string; message: string } | null; thrown?: string };
      attempt<T>(fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: ReturnType<Window['util']['err']> }>;
    };
  }
}
export {};
