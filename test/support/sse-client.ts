import { request, type ClientRequest, type IncomingMessage, type Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

/** One Server-Sent Event as a client parses it. */
export interface SseEvent {
  id: string | null;
  event: string | null;
  data: string;
}

/** An app listening on an ephemeral loopback port, for clients that need real HTTP (event streams). */
export async function listen(app: Express): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A minimal SSE client over node:http: parses frames as the EventSource spec does (`id:`, `event:`,
 * `data:`, comment lines), keeps every event and comment, and waits for counts of them.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  bytes = 0;
  ended = false;
  private buffer = '';
  private waiters: Array<() => void> = [];

  private constructor(
    readonly response: IncomingMessage,
    private readonly req: ClientRequest,
  ) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      this.bytes += Buffer.byteLength(chunk);
      this.buffer += chunk;
      this.parse();
    });
    const finish = () => {
      this.ended = true;
      this.notify();
    };
    response.on('end', finish);
    response.on('close', finish);
    response.on('error', finish);
  }

  /** Opens the stream; resolves once the response head arrived (whatever its status). */
  static open(port: number, path: string, headers: Record<string, string> = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers: { Accept: 'text/event-stream', ...headers } });
      req.on('response', (res) => resolve(new SseClient(res, req)));
      req.on('error', reject);
      req.end();
    });
  }

  get status(): number {
    return this.response.statusCode ?? 0;
  }

  /** The body read to its end (a problem+json answer). */
  async text(): Promise<string> {
    await this.until(() => this.ended, 'the end of the body');
    return this.buffer;
  }

  rewards(): Array<{ id: number; data: Record<string, unknown> }> {
    return this.events
      .filter((e) => e.event === 'reward')
      .map((e) => ({ id: Number(e.id), data: JSON.parse(e.data) as Record<string, unknown> }));
  }

  async waitForEvents(count: number, timeoutMs = 5000): Promise<void> {
    await this.until(() => this.events.length >= count, `${count} events (got ${this.events.length})`, timeoutMs);
  }

  async until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.req.destroy();
  }

  private notify(): void {
    const waiting = this.waiters;
    this.waiters = [];
    waiting.forEach((wake) => wake());
  }

  private parse(): void {
    if (this.status !== 200) return;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const frame = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const event: SseEvent = { id: null, event: null, data: '' };
      let hasData = false;
      for (const line of frame.split('\n')) {
        if (line.startsWith(':')) {
          this.comments.push(line.slice(1).trim());
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') event.id = value;
        else if (field === 'event') event.event = value;
        else if (field === 'data') {
          event.data = hasData ? `${event.data}\n${value}` : value;
          hasData = true;
        }
      }
      if (hasData) this.events.push(event);
    }
    this.notify();
  }
}
