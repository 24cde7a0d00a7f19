import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** What the metrics read when scraped: the live channels and the database pool of this process. */
export interface MetricSources {
  /** Live channels open on this process: streams and held long polls. */
  readonly liveChannels: () => number;
  /** The PostgreSQL pool (absent on PGlite, which has one connection). */
  readonly pool?: () => { readonly total: number; readonly idle: number; readonly waiting: number };
}

/**
 * The server's Prometheus metrics, in a registry of their own (several servers may share a process, as in tests).
 * Names follow Prometheus's conventions: `_total` counters, base units (seconds, bytes).
 */
export class ServerMetrics {
  readonly registry = new Registry();
  /** Requests answered, by route pattern (never the raw path: app ids would explode the series), method and status. */
  readonly requests = new Counter({
    name: "hokan_http_requests_total",
    help: "HTTP requests answered, by route, method and status code",
    labelNames: ["route", "method", "code"] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: "hokan_http_request_duration_seconds",
    help: "Time from a request's arrival to its answer, by route (live channels excluded)",
    labelNames: ["route"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly documents = new Counter({
    name: "hokan_documents_total",
    help: "Documents pushed (accepted) and pulled (sent)",
    labelNames: ["direction"] as const,
    registers: [this.registry],
  });
  readonly bytes = new Counter({
    name: "hokan_body_bytes_total",
    help: "Request bytes received by pushes and answer bytes sent by pulls, as on the wire",
    labelNames: ["direction"] as const,
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: "hokan_rate_limited_total",
    help: "Requests refused for their rate (by account, or by client address when the token failed) or for too many live channels",
    labelNames: ["by"] as const,
    registers: [this.registry],
  });
  readonly busLag = new Histogram({
    name: "hokan_bus_lag_seconds",
    help: "Time from a change's notice being sent in its transaction to this process receiving it",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor(sources: MetricSources, options: { readonly process?: boolean } = {}) {
    new Gauge({
      name: "hokan_live_channels",
      help: "Live channels open on this process (streams and held long polls)",
      registers: [this.registry],
      collect() {
        this.set(sources.liveChannels());
      },
    });
    const pool = sources.pool;
    if (pool) {
      new Gauge({
        name: "hokan_db_pool_connections",
        help: "Database pool connections, by state",
        labelNames: ["state"] as const,
        registers: [this.registry],
        collect() {
          const p = pool();
          this.set({ state: "idle" }, p.idle);
          this.set({ state: "busy" }, p.total - p.idle);
        },
      });
      new Gauge({
        name: "hokan_db_pool_waiting",
        help: "Queries and transactions waiting for a database connection",
        registers: [this.registry],
        collect() {
          this.set(pool().waiting);
        },
      });
    }
    // CPU, memory, event-loop delay, file descriptors of the process: only for a process of its own (the CLI).
    if (options.process) collectDefaultMetrics({ register: this.registry });
  }

  /** The text a Prometheus server scrapes. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * Serves `GET /metrics` on a port of its own (not the API's, which the internet reaches), for Prometheus to scrape.
 */
export async function serveMetrics(
  metrics: ServerMetrics,
  host: string,
  port: number,
): Promise<{ readonly url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    if (request.method !== "GET" || request.url?.split("?")[0] !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("GET /metrics\n");
      return;
    }
    metrics.text().then(
      (text) => response.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { "content-type": "text/plain" }).end(String(error)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
