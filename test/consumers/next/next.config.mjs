// Exported as static files (`output: 'export'`) for the test, whose server sends COOP/COEP itself. An app served
// by `next start` sets the headers as the README's Next.js section shows (`headers()`, which a static export ignores).
export default { output: 'export' };
