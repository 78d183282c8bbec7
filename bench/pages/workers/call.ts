/** One request/response round trip to a plain (non-comlink) worker. */
export function call<T>(worker: Worker, message: unknown, transfer: Transferable[] = []): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<T & { error?: string }>) => (e.data.error ? reject(new Error(e.data.error)) : resolve(e.data));
    worker.onerror = (e) => reject(new Error(e.message));
    worker.postMessage(message, transfer);
  });
}
