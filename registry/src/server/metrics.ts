/**
 * Prometheus metrics of the registry service (`prom-client`, on a registry of its own so that
 * several services in one process — tests — do not collide).
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServiceMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly bytes: Counter<'route'>;
  readonly duration: Histogram<'route' | 'method'>;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): ServiceMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'webinfer_registry_' });
  return {
    registry,
    requests: new Counter({
      name: 'webinfer_registry_http_requests_total',
      help: 'HTTP requests by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    bytes: new Counter({
      name: 'webinfer_registry_http_response_bytes_total',
      help: 'Response body bytes served, by route',
      labelNames: ['route'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'webinfer_registry_http_request_duration_seconds',
      help: 'Time to the response headers, by route and method',
      labelNames: ['route', 'method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}

/** A low-cardinality route label for a request path. */
export function routeOf(pathname: string): string {
  if (pathname === '/healthz' || pathname === '/metrics') return pathname.slice(1);
  if (pathname === '/v1/models.json') return 'catalog';
  if (/^\/v1\/models\/[^/]+\/index\.json$/.test(pathname)) return 'index';
  if (/^\/v1\/models\/[^/]+\/versions\/[^/]+\.json$/.test(pathname)) return 'manifest';
  if (/^\/v1\/models\/[^/]+\/versions\/[^/]+\/yank$/.test(pathname)) return 'yank';
  if (/^\/v1\/models\/[^/]+\/aliases\/[^/]+\/rollback$/.test(pathname)) return 'rollback';
  if (/^\/v1\/models\/[^/]+\/aliases\/[^/]+$/.test(pathname)) return 'alias';
  if (pathname.startsWith('/v1/blobs/')) return 'blob';
  if (pathname.startsWith('/v1/admin/')) return 'admin';
  return 'other';
}
