import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One Prometheus registry per gateway (not prom-client's global one, so tests can start several). */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'switchboard_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'switchboard_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly accounts = new Gauge({
    name: 'switchboard_accounts',
    help: 'Accounts by adapter and connection state',
    labelNames: ['adapter', 'state'] as const,
    registers: [this.registry],
  });
  readonly remoteEvents = new Counter({
    name: 'switchboard_remote_events_total',
    help: 'Events received from networks, by adapter and type',
    labelNames: ['adapter', 'type'] as const,
    registers: [this.registry],
  });
  readonly outboxSends = new Counter({
    name: 'switchboard_outbox_sends_total',
    help: 'Outbound sends by adapter and outcome (sent, retry, failed)',
    labelNames: ['adapter', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly relayLatency = new Histogram({
    name: 'switchboard_relay_latency_seconds',
    help: 'Bridged messages: from their arrival at the gateway to their copy written to the target network, by target adapter',
    labelNames: ['adapter'] as const,
    buckets: [
      0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1,
      0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
    ],
    registers: [this.registry],
  });
  readonly queueJobs = new Gauge({
    name: 'switchboard_queue_jobs',
    help: 'Jobs in each queue by state',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });
  readonly wsClients = new Gauge({
    name: 'switchboard_websocket_clients',
    help: 'Connected WebSocket event-stream clients',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'switchboard_' });
  }
}
