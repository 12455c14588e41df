/**
 * Optional peers for the chat benchmark: LangChain's `PostgresChatMessageHistory` and Mastra's
 * `PostgresStore`, measured in the same run when installed (they are not dependencies of carebase:
 * `npm install --no-save @langchain/community @langchain/core` / `@mastra/pg` to include them).
 * Each loader returns the peer's operations on its own tables in the same database, or the reason
 * it is skipped, which the benchmark prints.
 */
import type pg from 'pg';

/** One peer's chat operations, each on a session / thread of its own per writer. */
export interface ChatPeer {
  readonly name: string;
  /** Appends one user message to writer `writer`'s history. */
  append(writer: number, content: string): Promise<unknown>;
  /** Reads the newest page (50) of writer 0's history. */
  history(): Promise<unknown>;
  close(): Promise<void>;
}

export type PeerResult = { readonly peer: ChatPeer } | { readonly skipped: string };

async function optional(name: string): Promise<Record<string, unknown> | string> {
  try {
    return (await import(name)) as Record<string, unknown>;
  } catch (error) {
    return `${name} is not installed (${(error as { code?: string }).code ?? 'import failed'})`;
  }
}

/** LangChain: `new PostgresChatMessageHistory({ pool, sessionId })`, `addMessage`, `getMessages`. */
export async function langchainPeer(pool: pg.Pool): Promise<PeerResult> {
  const store = await optional('@langchain/community/stores/message/postgres');
  if (typeof store === 'string') return { skipped: store };
  const messages = await optional('@langchain/core/messages');
  if (typeof messages === 'string') return { skipped: messages };
  try {
    type History = { addMessage(m: unknown): Promise<void>; getMessages(): Promise<unknown[]> };
    const History = store.PostgresChatMessageHistory as new (options: object) => History;
    const Human = messages.HumanMessage as new (content: string) => unknown;
    const histories = Array.from(
      { length: 8 },
      (_, i) => new History({ pool, sessionId: `bench-${i}`, tableName: 'langchain_chat_histories' }),
    );
    return {
      peer: {
        name: 'LangChain',
        append: (writer, content) => (histories[writer] as History).addMessage(new Human(content)),
        // LangChain reads a session's whole history (no paging).
        history: () => (histories[0] as History).getMessages(),
        close: async () => undefined,
      },
    };
  } catch (error) {
    return { skipped: `LangChain setup failed: ${(error as Error).message}` };
  }
}

/**
 * Mastra: `new PostgresStore({ id, connectionString })`; its memory domain's `saveThread`,
 * `saveMessages` and the newest page of a thread (`listMessages` ordered newest first, 50 per page,
 * in Mastra 1.x; `getMessages({ selectBy: { last: 50 } })` in 0.x, whose methods sit on the store).
 */
export async function mastraPeer(connectionString: string, resourceId: string): Promise<PeerResult> {
  const module = await optional('@mastra/pg');
  if (typeof module === 'string') return { skipped: module };
  try {
    type Memory = {
      saveThread(args: object): Promise<unknown>;
      saveMessages(args: object): Promise<unknown>;
      listMessages?(args: object): Promise<unknown>;
      getMessages?(args: object): Promise<unknown>;
    };
    type Store = Memory & {
      init(): Promise<void>;
      stores?: { memory?: Memory };
      close?(): Promise<void>;
    };
    const Store = module.PostgresStore as new (options: object) => Store;
    const store = new Store({ id: 'carebase-bench', connectionString });
    await store.init();
    const memory: Memory = store.stores?.memory ?? store;
    const now = new Date();
    for (let i = 0; i < 8; i++) {
      await memory.saveThread({
        thread: {
          id: `bench-${i}`,
          resourceId,
          title: 'bench',
          createdAt: now,
          updatedAt: now,
          metadata: {},
        },
      });
    }
    let n = 0;
    const newest =
      memory.listMessages !== undefined
        ? () =>
            (memory.listMessages as NonNullable<Memory['listMessages']>)({
              threadId: 'bench-0',
              perPage: 50,
              page: 0,
              orderBy: { field: 'createdAt', direction: 'DESC' },
              includeTotal: false,
            })
        : () =>
            (memory.getMessages as NonNullable<Memory['getMessages']>)({
              threadId: 'bench-0',
              selectBy: { last: 50 },
            });
    return {
      peer: {
        name: 'Mastra',
        append: (writer, content) =>
          memory.saveMessages({
            format: 'v2',
            messages: [
              {
                id: `m-${process.pid}-${n++}`,
                threadId: `bench-${writer}`,
                resourceId,
                role: 'user',
                type: 'v2',
                createdAt: new Date(),
                content: { format: 2, parts: [{ type: 'text', text: content }] },
              },
            ],
          }),
        history: newest,
        close: async () => store.close?.(),
      },
    };
  } catch (error) {
    return { skipped: `Mastra setup failed: ${(error as Error).message}` };
  }
}
