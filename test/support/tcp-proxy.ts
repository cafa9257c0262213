import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from './private-redis';

/**
 * A small TCP proxy in front of a real server (MariaDB), to fault the network without touching the
 * shared server. `cut()` drops every connection and refuses new ones, `restore()` lets traffic
 * through again: an outage. `freeze()` stops forwarding in both directions and closes nothing, new
 * connections are accepted and left waiting, a close is held back; `thaw()` delivers what was held,
 * in order, then the closes: a network partition that heals, the database neither answering nor
 * refusing meanwhile.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private frozen = false;
  /** Clients accepted while frozen, linked to the server on thaw. */
  private waitingClients: Socket[] = [];
  /** Closes that happened while frozen, passed on to the other side on thaw. */
  private heldCloses: Array<() => void> = [];

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(await freePort(), target);
    await proxy.restore();
    return proxy;
  }

  restore(): Promise<void> {
    if (this.server) return Promise.resolve();
    const server = createServer((client) => this.accept(client));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  /** Also ends a freeze: nothing is left to hold. */
  cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.frozen = false;
    this.waitingClients = [];
    this.heldCloses = [];
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  freeze(): void {
    this.frozen = true;
    // A paused socket is not read: its data (and a FIN behind it) stays in the kernel's buffers.
    for (const socket of this.sockets) socket.pause();
  }

  thaw(): void {
    this.frozen = false;
    for (const socket of this.sockets) socket.resume();
    for (const client of this.waitingClients.splice(0)) if (!client.destroyed) this.link(client);
    for (const close of this.heldCloses.splice(0)) close();
  }

  private accept(client: Socket): void {
    this.track(client);
    if (!this.frozen) {
      this.link(client);
      return;
    }
    client.pause();
    this.waitingClients.push(client);
  }

  private link(client: Socket): void {
    const upstream = connect(this.target);
    this.track(upstream);
    this.forward(client, upstream);
    this.forward(upstream, client);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  /** Copies `from` to `to` unless frozen; an end or close of `from` reaches `to` after the data. */
  private forward(from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (!this.frozen) from.resume();
    });
    // A paused socket with nothing buffered still reports its peer's FIN: hold it like the data.
    from.on('end', () => this.whenThawed(() => to.end()));
    from.on('close', () => this.whenThawed(() => to.end(() => to.destroy())));
  }

  private whenThawed(action: () => void): void {
    if (this.frozen) this.heldCloses.push(action);
    else action();
  }
}
