import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback in front of a test server, whose connections a test can cut at will:
 * the client sees its socket fail with no PostgreSQL message at all (as on a failover, a network
 * partition or a crashed server), which `pg_terminate_backend` (it sends 57P01 first) cannot show.
 */
export interface CuttableProxy {
  readonly port: number;
  /** Open client connections. */
  readonly open: number;
  /** Cuts every open connection: `reset` sends a TCP RST (ECONNRESET), else a plain close (EOF). */
  cutAll(how?: 'reset' | 'close'): void;
  /**
   * Arms a one-shot cut: the next time the server's bytes to a client end with a CommandComplete
   * message and nothing after it (a cursor's last batch, answered before the client's Sync), that
   * connection is closed right after those bytes reach the client, so its `ReadyForQuery` never
   * comes.
   */
  cutAfterCommandComplete(): void;
  close(): Promise<void>;
}

/**
 * Follows the server's message framing (type byte, 4-byte length) across chunks and says whether
 * a chunk ends exactly after a CommandComplete ('C') message.
 */
function commandCompleteWatcher(): (chunk: Buffer) => boolean {
  let skip = 0; // bytes of a message body still to come
  let header = Buffer.alloc(0); // a message header split across chunks
  return (chunk) => {
    let offset = 0;
    let last = '';
    while (offset < chunk.length) {
      if (skip > 0) {
        const take = Math.min(skip, chunk.length - offset);
        skip -= take;
        offset += take;
        continue;
      }
      const need = 5 - header.length;
      header = Buffer.concat([header, chunk.subarray(offset, offset + need)]);
      offset += Math.min(need, chunk.length - offset);
      if (header.length < 5) break;
      last = String.fromCharCode(header[0] as number);
      skip = header.readUInt32BE(1) - 4;
      header = Buffer.alloc(0);
    }
    return skip === 0 && header.length === 0 && last === 'C';
  };
}

export async function startProxy(targetPort: number): Promise<CuttableProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let armed = false;
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    // Authentication first: the server's messages are all framed (type, length) from its first byte.
    const endsWithCommandComplete = commandCompleteWatcher();
    upstream.on('data', (chunk: Buffer) => {
      if (endsWithCommandComplete(chunk) && armed) {
        armed = false;
        upstream.unpipe(client);
        client.end(chunk, () => drop());
        return;
      }
      if (!client.write(chunk)) {
        upstream.pause();
        client.once('drain', () => upstream.resume());
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const cutAll = (how: 'reset' | 'close' = 'close'): void => {
    for (const pair of [...pairs]) {
      pairs.delete(pair);
      const [client, upstream] = pair;
      upstream.destroy();
      if (how === 'reset') client.resetAndDestroy();
      else client.destroy();
    }
  };
  return {
    port,
    get open() {
      return pairs.size;
    },
    cutAll,
    cutAfterCommandComplete() {
      armed = true;
    },
    async close() {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
