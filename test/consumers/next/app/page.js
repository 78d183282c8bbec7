'use client';
// The README's Next.js section: webinfer only in a client component, started from an effect (it needs Worker and
// WebAssembly, which server rendering does not have).
import { useEffect } from 'react';

export default function Page() {
  useEffect(() => {
    import('../src/app.js');
  }, []);
  return <pre id="out">loading…</pre>;
}
