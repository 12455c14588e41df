import { z } from 'zod';

/**
 * How reads are sent to read replicas (`replicas`): when a replica leaves rotation, how long a
 * read waits for the caller's own writes to reach it, and how often replicas are checked.
 *
 * @example
 * ```ts
 * import { ReplicaReadsOptionsSchema } from 'carebase/schemas';
 * const parsed = ReplicaReadsOptionsSchema.parse({ maxLagMs: 2_000 });
 * console.log(parsed.readYourWritesTimeoutMs); // 200
 * ```
 */
export const ReplicaReadsOptionsSchema = z
  .strictObject({
    /**
     * A replica whose replay is this far behind the primary (in time) leaves rotation until it
     * catches up. @default 5000 (env `DB_REPLICA_MAX_LAG_MS`)
     */
    maxLagMs: z.number().int().min(0).max(86_400_000).default(5_000),
    /**
     * How long a read waits for a replica to replay the instance's latest write before it reads
     * on the primary instead. `0` reads on the primary whenever the replica is behind.
     * @default 200 (env `DB_READ_YOUR_WRITES_TIMEOUT_MS`)
     */
    readYourWritesTimeoutMs: z.number().int().min(0).max(60_000).default(200),
    /**
     * How often each replica's state and lag are checked in the background (a replica out of
     * rotation comes back at the first check that finds it healthy). @default 1000
     */
    checkIntervalMs: z.number().int().min(10).max(3_600_000).default(1_000),
  })
  .prefault({});

/**
 * Replica routing options as a host writes them; see {@link ReplicaReadsOptionsSchema}.
 *
 * @example
 * <!-- snippet-preamble: declare const replicaUrl: string; -->
 * ```ts
 * import { createCarebase, type ReplicaReadsOptions } from 'carebase';
 * const replicaReads: ReplicaReadsOptions = { maxLagMs: 2_000, readYourWritesTimeoutMs: 100 };
 * const cb = createCarebase({ connectionString, replicas: [replicaUrl], replicaReads });
 * ```
 */
export interface ReplicaReadsOptions {
  /**
   * A replica whose replay is this far behind the primary (in time) leaves rotation until it
   * catches up. @default 5000 (env `DB_REPLICA_MAX_LAG_MS`)
   */
  readonly maxLagMs?: number | undefined;
  /**
   * How long a read waits for a replica to replay the instance's latest write before it reads on
   * the primary instead. @default 200 (env `DB_READ_YOUR_WRITES_TIMEOUT_MS`)
   */
  readonly readYourWritesTimeoutMs?: number | undefined;
  /** How often each replica's state and lag are checked in the background. @default 1000 */
  readonly checkIntervalMs?: number | undefined;
}

/**
 * Replica routing options with defaults applied.
 *
 * @example
 * ```ts
 * import type { ResolvedReplicaReadsOptions } from 'carebase';
 * const { maxLagMs }: ResolvedReplicaReadsOptions = cb.config.replicaReads;
 * ```
 */
export interface ResolvedReplicaReadsOptions {
  readonly maxLagMs: number;
  readonly readYourWritesTimeoutMs: number;
  readonly checkIntervalMs: number;
}
