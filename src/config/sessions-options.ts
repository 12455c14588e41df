import { z } from 'zod';

/**
 * Named session timeout presets. Explicit `idleTimeoutMs` / `absoluteTimeoutMs` override the
 * preset's values.
 *
 * - `hipaa` (the default): 15 min idle, 12 h absolute: the automatic-logoff control of the HIPAA
 *   Security Rule (45 CFR 164.312(a)(2)(iii)) as most clinical security reviews read it.
 * - `strict`: 5 min idle, 1 h absolute, for shared workstations and kiosks.
 * - `standard`: 2 h idle, 7 days absolute, for apps that hold no health data.
 *
 * @example
 * ```ts
 * import { SESSION_PRESETS, createCarebase } from 'carebase';
 * const cb = createCarebase({ sessions: { preset: 'strict' } });
 * console.log(SESSION_PRESETS.hipaa.idleTimeoutMs); // 900000
 * ```
 */
export const SESSION_PRESETS = Object.freeze({
  hipaa: Object.freeze({ idleTimeoutMs: 15 * 60_000, absoluteTimeoutMs: 12 * 60 * 60_000 }),
  strict: Object.freeze({ idleTimeoutMs: 5 * 60_000, absoluteTimeoutMs: 60 * 60_000 }),
  standard: Object.freeze({ idleTimeoutMs: 2 * 60 * 60_000, absoluteTimeoutMs: 7 * 24 * 60 * 60_000 }),
} as const);

/**
 * The name of a session timeout preset; see {@link SESSION_PRESETS}.
 *
 * @example
 * ```ts
 * import { createCarebase, SESSION_PRESETS, type SessionPreset } from 'carebase';
 * const preset: SessionPreset = process.env.KIOSK === '1' ? 'strict' : 'hipaa';
 * const cb = createCarebase({ sessions: { preset } });
 * console.log(`idle logout after ${SESSION_PRESETS[preset].idleTimeoutMs / 60_000} minutes`);
 * ```
 */
export type SessionPreset = keyof typeof SESSION_PRESETS;

const positiveMs = z.number().int().positive();

/**
 * Options of the sessions repository.
 *
 * @example
 * ```ts
 * import { createCarebase } from 'carebase';
 * const cb = createCarebase({ sessions: { preset: 'hipaa', idleTimeoutMs: 10 * 60_000 } });
 * ```
 */
export const SessionsOptionsSchema = z
  .strictObject({
    /** Timeout preset the two timeouts default to. @default 'hipaa' */
    preset: z.enum(['hipaa', 'strict', 'standard']).default('hipaa'),
    /** A session unused this long stops validating. @default 900000 (15 min, from the preset) */
    idleTimeoutMs: positiveMs.optional(),
    /**
     * A session stops validating this long after creation, however active; also the longest
     * `ttlMs` that `sessions.create` accepts. @default 43200000 (12 h, from the preset)
     */
    absoluteTimeoutMs: positiveMs.optional(),
    /**
     * `last_seen_at` is written at most once per this interval per session, so validation is
     * read-mostly. The idle timeout is measured from `last_seen_at`, so a session may expire up to
     * this much earlier than `idleTimeoutMs` after its last use (never later). @default 60000
     */
    touchIntervalMs: z.number().int().nonnegative().default(60_000),
  })
  .prefault({})
  .transform((options) => {
    const preset = SESSION_PRESETS[options.preset];
    return {
      preset: options.preset,
      idleTimeoutMs: options.idleTimeoutMs ?? preset.idleTimeoutMs,
      absoluteTimeoutMs: options.absoluteTimeoutMs ?? preset.absoluteTimeoutMs,
      touchIntervalMs: options.touchIntervalMs,
    };
  })
  .refine((options) => options.touchIntervalMs < options.idleTimeoutMs, {
    message: 'touchIntervalMs must be shorter than idleTimeoutMs',
    path: ['touchIntervalMs'],
  });

/**
 * Sessions options as a host writes them.
 *
 * @example
 * ```ts
 * import { createCarebase, type SessionsOptions } from 'carebase';
 * // No health data: longer sessions, last-seen written at most once a minute.
 * const sessions: SessionsOptions = { preset: 'standard', touchIntervalMs: 60_000 };
 * const cb = createCarebase({ sessions });
 * ```
 */
export interface SessionsOptions {
  /** Timeout preset the two timeouts default to. @default 'hipaa' */
  readonly preset?: 'hipaa' | 'strict' | 'standard' | undefined;
  /** A session unused this long stops validating. @default 900000 (15 min, from the preset) */
  readonly idleTimeoutMs?: number | undefined;
  /**
   * A session stops validating this long after creation, however active; also the longest
   * `ttlMs` that `sessions.create` accepts. @default 43200000 (12 h, from the preset)
   */
  readonly absoluteTimeoutMs?: number | undefined;
  /**
   * `last_seen_at` is written at most once per this interval per session, so validation is
   * read-mostly. The idle timeout is measured from `last_seen_at`, so a session may expire up to
   * this much earlier than `idleTimeoutMs` after its last use (never later). @default 60000
   */
  readonly touchIntervalMs?: number | undefined;
}
/**
 * Sessions options with defaults applied.
 *
 * @example
 * ```ts
 * import type { ResolvedSessionsOptions } from 'carebase';
 * const { absoluteTimeoutMs }: ResolvedSessionsOptions = cb.config.sessions;
 * const { token } = await cb.sessions.create({ userId: user.id, ip: req.ip });
 * res.cookie('sid', token, { httpOnly: true, secure: true, sameSite: 'strict', maxAge: absoluteTimeoutMs });
 * ```
 */
export interface ResolvedSessionsOptions {
  /** Timeout preset the two timeouts default to. @default 'hipaa' */
  readonly preset: 'hipaa' | 'strict' | 'standard';
  /** A session unused this long stops validating. @default 900000 (15 min, from the preset) */
  readonly idleTimeoutMs: number;
  /**
   * A session stops validating this long after creation, however active; also the longest
   * `ttlMs` that `sessions.create` accepts. @default 43200000 (12 h, from the preset)
   */
  readonly absoluteTimeoutMs: number;
  /**
   * `last_seen_at` is written at most once per this interval per session, so validation is
   * read-mostly. The idle timeout is measured from `last_seen_at`, so a session may expire up to
   * this much earlier than `idleTimeoutMs` after its last use (never later). @default 60000
   */
  readonly touchIntervalMs: number;
}
