// The cluster DNS's metrics, named as CoreDNS's (plugin/metrics and
// plugin/forward), so dashboards made for CoreDNS read them unchanged.

import { Counter, Histogram, Registry } from 'prom-client';

/** CoreDNS's request duration buckets: 0.25 ms doubling to about 8 s. */
const DURATION_BUCKETS = Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i);

export interface DnsMetrics {
  readonly registry: Registry;
  /** By query type (A, AAAA, SRV, ...; others as "other") and transport (udp, tcp). */
  readonly requests: Counter<'type' | 'proto'>;
  /** By response code (NOERROR, NXDOMAIN, SERVFAIL, ...). */
  readonly responses: Counter<'rcode'>;
  readonly duration: Histogram<'type'>;
  /** Queries sent to an upstream resolver, by its address. */
  readonly forwardRequests: Counter<'to'>;
  /** Upstream answers by response code and resolver. */
  readonly forwardResponses: Counter<'rcode' | 'to'>;
  /** Upstream queries that got no answer (timeout, refused connection). */
  readonly forwardErrors: Counter<'to'>;
}

/** The query types CoreDNS counts by name; every other type is "other". */
const COUNTED_TYPES = new Set(['A', 'AAAA', 'NS', 'PTR', 'SRV', 'CNAME', 'SOA', 'MX', 'TXT', 'ANY', 'HTTPS', 'SVCB']);

export function typeLabel(type: string): string {
  return COUNTED_TYPES.has(type) ? type : 'other';
}

export function newDnsMetrics(registry = new Registry()): DnsMetrics {
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'coredns_dns_requests_total',
      help: 'Counter of DNS requests made per type and protocol.',
      labelNames: ['type', 'proto'],
      registers,
    }),
    responses: new Counter({ name: 'coredns_dns_responses_total', help: 'Counter of response status codes.', labelNames: ['rcode'], registers }),
    duration: new Histogram({
      name: 'coredns_dns_request_duration_seconds',
      help: 'Histogram of the time (in seconds) each request took.',
      labelNames: ['type'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    forwardRequests: new Counter({ name: 'coredns_forward_requests_total', help: 'Counter of requests made per upstream.', labelNames: ['to'], registers }),
    forwardResponses: new Counter({
      name: 'coredns_forward_responses_total',
      help: 'Counter of responses received per upstream.',
      labelNames: ['rcode', 'to'],
      registers,
    }),
    forwardErrors: new Counter({
      name: 'coredns_forward_request_errors_total',
      help: 'Counter of requests to an upstream that got no response (timeout or connection error).',
      labelNames: ['to'],
      registers,
    }),
  };
}
