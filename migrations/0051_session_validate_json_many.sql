-- carebase 0051: many session validations in one call behind a transaction pooler.
--
-- carebase coalesces concurrent `sessions.validate` calls of one instance into one statement (the
-- tokens that arrive while two validations are on the wire go together when one comes back).
-- Connected directly that statement is a named prepared join over `unnest(...)`; behind a
-- transaction pooler nothing is named, so the server would parse and plan that join for every
-- batch. This function is a plain call instead: per token it runs `session_validate_json`
-- (migration 0050), whose lookup keeps its plan on the server backend, and it returns one JSON
-- array with one element per token, in order: the token's row as `session_validate_json` returns
-- it, or null.
--
-- SECURITY INVOKER: the caller's own SELECT privileges (and row-level security) apply.

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

CREATE FUNCTION session_validate_json_many(
  p_token_hashes bytea[],
  p_nows timestamptz[],
  p_idle_cutoffs timestamptz[]
)
RETURNS json
LANGUAGE plpgsql
STABLE
SET search_path FROM CURRENT
AS $$
BEGIN
  RETURN (SELECT json_agg(session_validate_json(k.token_hash, k.at, k.idle_cutoff) ORDER BY k.i)
            FROM unnest(p_token_hashes, p_nows, p_idle_cutoffs)
                 WITH ORDINALITY AS k(token_hash, at, idle_cutoff, i));
END
$$;

-- carebase:down
DROP FUNCTION IF EXISTS session_validate_json_many(bytea[], timestamptz[], timestamptz[]);
