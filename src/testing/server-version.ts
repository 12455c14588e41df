import pg from 'pg';

/** The `server_version` of the server at `url` (e.g. `18.4`), over one short-lived connection. */
export async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => {}); // the server going away while connected
  await client.connect();
  try {
    const { rows } = await client.query<{ version: string }>(
      "select current_setting('server_version') as version",
    );
    return rows[0]?.version.split(' ')[0] ?? 'unknown';
  } finally {
    await client.end().catch(() => {});
  }
}
