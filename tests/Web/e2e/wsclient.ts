// A small protocol client for seeding test data (many messages, many rooms) fast, using the app's own codec.
import WebSocket from 'ws';
import {
  callFrame, decodeFrames, decodeServerFrame, helloFrame, sendFrame, type ServerFrame,
} from '../../../src/Web/src/shared/codec';

export class WsClient {
  private nextReq = 1n;
  private waiters = new Map<bigint, { resolve(f: ServerFrame): void; reject(e: Error): void }>();
  readonly events: ServerFrame[] = [];

  private constructor(private readonly ws: WebSocket) {}

  static async connect(baseUrl: string, token: string): Promise<WsClient> {
    const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + '/v1/ws');
    ws.binaryType = 'nodebuffer';
    const client = new WsClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => {
        ws.send(helloFrame(token, null, 'e2e-seeder'));
      });
      ws.on('message', (data: Buffer) => {
        for (const raw of decodeFrames(new Uint8Array(data))) {
          const f = decodeServerFrame(raw);
          if (f.type === 'welcome') resolve();
          else client.onFrame(f);
        }
      });
      ws.once('error', reject);
      ws.once('close', (code) => reject(new Error(`closed ${code}`)));
    });
    return client;
  }

  private onFrame(f: ServerFrame): void {
    if (f.type === 'result' || f.type === 'ack' || (f.type === 'error' && f.req !== 0n)) {
      const w = this.waiters.get(f.req);
      if (!w) return;
      this.waiters.delete(f.req);
      if (f.type === 'error') w.reject(new Error(`${f.name}: ${f.message}`));
      else w.resolve(f);
    } else if (f.type === 'event') {
      this.events.push(f);
    }
  }

  private request(build: (req: bigint) => Uint8Array): Promise<ServerFrame> {
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      this.waiters.set(req, { resolve, reject });
      this.ws.send(build(req));
    });
  }

  async call<T = Record<string, unknown>>(method: string, params: Record<string, unknown>): Promise<T> {
    const f = await this.request((req) => callFrame(req, method, params));
    return (f as Extract<ServerFrame, { type: 'result' }>).result as T;
  }

  async send(room: string, body: string): Promise<bigint> {
    const f = await this.request((req) => sendFrame(req, room, `seed-${req}-${Math.random()}`, 'message', { body }));
    return (f as Extract<ServerFrame, { type: 'ack' }>).seq;
  }

  /** Sends `count` messages, `window` in flight at a time (the server allows 256 per connection). */
  async sendMany(room: string, count: number, text: (i: number) => string, window = 200): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        await this.send(room, text(i));
      }
    };
    await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
  }

  close(): void {
    this.ws.close(1000);
  }
}
