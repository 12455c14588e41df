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
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<CuttableProxy> {
  const pairs = new Set<[Socket, Socket]>();
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
    upstream.pipe(client);
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
    async close() {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
