import { connect, createServer, type Server, type Socket } from "node:net";
import { Prng } from "@hokan/core/testing";

/** How a {@link FaultProxy} mistreats connections; probabilities per connection. */
export interface ProxyFaults {
  /** Cut the connection after the first bytes of a request, before the server sees it whole. */
  readonly cutRequest: number;
  /** Let the request through, then cut the connection instead of delivering the server's answer. */
  readonly dropResponse: number;
  /** Delay each connection by up to this many ms. */
  readonly maxDelayMs: number;
}

export const CLEAN: ProxyFaults = { cutRequest: 0, dropResponse: 0, maxDelayMs: 0 };

/**
 * A TCP proxy on 127.0.0.1 between clients and the server that cuts connections mid-request, drops answers after the
 * server committed, and delays, from a seeded PRNG. `offline` refuses every connection; {@link freeze} makes
 * connections carry nothing, with no error, as a NAT timeout or a Wi-Fi handover does.
 */
export class FaultProxy {
  faults: ProxyFaults = CLEAN;
  offline = false;
  readonly stats = { connections: 0, cutRequests: 0, droppedResponses: 0, refused: 0, frozen: 0 };
  /** While true, every new connection is accepted and then carries nothing. */
  private frozen = false;
  /** Connections that carry nothing, ever again (their NAT mapping is gone). */
  private readonly dead = new Set<Socket>();
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly prng: Prng;
  private port = 0;

  constructor(
    private target: { host: string; port: number },
    seed = 1,
  ) {
    this.prng = new Prng(seed);
    this.server = createServer((client) => this.handle(client));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Freezes every open connection for good, and every new one until {@link thaw}: bytes sent either way vanish, and
   * nobody hears of it — no FIN, no reset.
   */
  freeze(): void {
    this.frozen = true;
    for (const s of this.sockets) this.dead.add(s);
  }

  /** New connections work again; those frozen stay dead, as a lost NAT mapping does. */
  thaw(): void {
    this.frozen = false;
  }

  /** New connections go to `target` from now on (a load balancer took the old one out); open ones stay where they are. */
  routeTo(target: { host: string; port: number }): void {
    this.target = target;
  }

  /** Cuts every open connection (the network went away). */
  cutAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(client: Socket): void {
    this.stats.connections++;
    if (this.offline) {
      this.stats.refused++;
      client.destroy();
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    this.sockets.add(client);
    this.sockets.add(upstream);
    if (this.frozen) {
      this.stats.frozen++;
      this.dead.add(client);
    }
    const cut = this.prng.chance(this.faults.cutRequest);
    const drop = !cut && this.prng.chance(this.faults.dropResponse);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
      this.dead.delete(client);
      this.dead.delete(upstream);
    };
    client.on("error", close);
    upstream.on("error", close);
    client.on("close", close);
    upstream.on("close", close);
    // One delay for the whole connection: equal delays keep the byte stream in order.
    const ms = this.faults.maxDelayMs > 0 ? this.prng.int(0, this.faults.maxDelayMs) : 0;
    const delay = (fn: () => void) => (ms === 0 ? fn() : void setTimeout(fn, ms));
    // A frozen connection: both of its sockets stop carrying anything.
    const frozen = () => this.dead.has(client) || this.dead.has(upstream);
    client.on("data", (chunk) => {
      if (frozen()) return;
      if (cut) {
        this.stats.cutRequests++;
        upstream.write(chunk.subarray(0, Math.max(1, Math.floor(chunk.length / 2))));
        close();
        return;
      }
      delay(() => frozen() || upstream.write(chunk));
    });
    upstream.on("data", (chunk) => {
      if (frozen()) return;
      if (drop) {
        this.stats.droppedResponses++;
        close();
        return;
      }
      delay(() => frozen() || client.write(chunk));
    });
  }
}
