// The README's Next.js section: COOP/COEP on every route (`next start`, `next dev`). This app is also exported as
// static files (`output: 'export'`) for the test, whose server sends the same headers.
const headers = [
  { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
  { key: 'Cross-Origin-Embedder-Policy', value: 'require-corp' },
];
export default {
  output: 'export',
  ...(process.env.NEXT_EXPORT === '0' ? { async headers() { return [{ source: '/:path*', headers }]; } } : {}),
};
