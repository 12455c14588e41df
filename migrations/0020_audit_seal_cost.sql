-- carebase 0020: audit sealing that stays cheap whatever the statistics say.
--
--   * audit_seal_pending(): whether any committed entry waits for its seal. Read-only, no lock, no
--     write: a background pass asks it first, so a pass with nothing to seal is one cheap statement
--     instead of a locked, written, committed transaction.
--   * audit_seal() finds the pending entries through audit_log_txid_idx and probes audit_chain by
--     primary key, with merge and hash joins disabled (audit_seal_pending() walks that index in
--     order, which no statistics can talk the planner out of): a month partition that
--     was never analyzed (reltuples = -1, e.g. autovacuum off or not run yet) made the planner
--     expect a third of the month to be pending and switch to a full index scan with a merge anti
--     join, 130-195 ms per pass at a million entries instead of under a millisecond.
--   * audit_ensure_partitions() analyzes the partitions it creates, and audit_analyze_stale()
--     analyzes the audit partitions whose statistics are missing or stale (called after bulk
--     sealing). Both are SECURITY DEFINER: ANALYZE needs the owner.

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

ALTER FUNCTION audit_seal() SET enable_seqscan = off SET enable_mergejoin = off SET enable_hashjoin = off SET jit = off;

-- Walks the candidates in txid order (ORDER BY txid: only audit_log_txid_idx gives that order,
-- so no statistics can make the planner prefer a scan; EXISTS would invite a "fast start" walk of
-- the primary key hoping for an early match, which reads the whole month when nothing is pending)
-- and answers at the first one without a link. Candidates are entries of transactions at or after
-- the watermark (in practice all unsealed) and of the transactions still open at the last pass.
CREATE FUNCTION audit_seal_pending() RETURNS boolean
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path FROM CURRENT
SET enable_seqscan = off
SET jit = off
AS $$
DECLARE
  w bigint;
  open_before bigint[];
  r record;
BEGIN
  SELECT s.watermark, s.open_txids INTO w, open_before FROM audit_seal_state s;
  FOR r IN
    SELECT l.occurred_at, l.id FROM audit_log l
    WHERE l.txid >= w AND l.row_hash IS NOT NULL
    ORDER BY l.txid
  LOOP
    IF NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.occurred_at = r.occurred_at AND c.id = r.id) THEN
      RETURN true;
    END IF;
  END LOOP;
  IF cardinality(open_before) > 0 THEN
    FOR r IN
      SELECT l.occurred_at, l.id FROM audit_log l
      WHERE l.txid = ANY (open_before) AND l.row_hash IS NOT NULL
      ORDER BY l.txid
    LOOP
      IF NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.occurred_at = r.occurred_at AND c.id = r.id) THEN
        RETURN true;
      END IF;
    END LOOP;
  END IF;
  RETURN false;
END
$$;

-- Analyzes every partition of audit_log and audit_chain that has no statistics yet, or whose
-- rows changed by more than a tenth (plus 1000) since its last analyze. Returns how many it analyzed.
CREATE FUNCTION audit_analyze_stale() RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
DECLARE
  part record;
  analyzed integer := 0;
BEGIN
  FOR part IN
    SELECT c.oid::regclass AS rel
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
    WHERE i.inhparent IN (to_regclass('audit_log'), to_regclass('audit_chain'))
      AND (c.reltuples < 0 OR coalesce(s.n_mod_since_analyze, 0) > 1000 + c.reltuples / 10)
  LOOP
    EXECUTE format('ANALYZE %s', part.rel);
    analyzed := analyzed + 1;
  END LOOP;
  RETURN analyzed;
END
$$;

CREATE OR REPLACE FUNCTION audit_ensure_partitions(from_month timestamptz, months_ahead integer)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
DECLARE
  created integer;
  created_chain integer;
  part record;
BEGIN
  PERFORM check_partition_request(from_month, months_ahead);
  -- The common case takes no lock: every partition is there.
  IF monthly_partitions_present(ARRAY['audit_log', 'audit_chain'], from_month, months_ahead) THEN
    RETURN 0;
  END IF;
  created := ensure_monthly_partitions('audit_log', from_month, months_ahead);
  created_chain := ensure_monthly_partitions('audit_chain', from_month, months_ahead);
  IF created > 0 OR created_chain > 0 THEN
    FOR part IN
      SELECT c.oid::regclass AS rel, c.relname
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent IN (to_regclass('audit_log'), to_regclass('audit_chain'))
        AND NOT EXISTS (
          SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = c.relname || '_no_truncate'
        )
    LOOP
      EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()',
        part.relname || '_no_truncate', part.rel);
      EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %s FROM PUBLIC', part.rel);
      -- Statistics from the start (an empty table's), so plans never rest on a never-analyzed guess.
      EXECUTE format('ANALYZE %s', part.rel);
    END LOOP;
  END IF;
  RETURN greatest(created, created_chain);
END
$$;

REVOKE EXECUTE ON FUNCTION audit_seal_pending() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION audit_analyze_stale() FROM PUBLIC;

-- carebase:down
DROP FUNCTION IF EXISTS audit_analyze_stale();
DROP FUNCTION IF EXISTS audit_seal_pending();
ALTER FUNCTION audit_seal() RESET enable_mergejoin;
ALTER FUNCTION audit_seal() RESET enable_hashjoin;
CREATE OR REPLACE FUNCTION audit_ensure_partitions(from_month timestamptz, months_ahead integer)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
DECLARE
  created integer;
  created_chain integer;
  part record;
BEGIN
  PERFORM check_partition_request(from_month, months_ahead);
  -- The common case takes no lock: every partition is there.
  IF monthly_partitions_present(ARRAY['audit_log', 'audit_chain'], from_month, months_ahead) THEN
    RETURN 0;
  END IF;
  created := ensure_monthly_partitions('audit_log', from_month, months_ahead);
  created_chain := ensure_monthly_partitions('audit_chain', from_month, months_ahead);
  IF created > 0 OR created_chain > 0 THEN
    FOR part IN
      SELECT c.oid::regclass AS rel, c.relname
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent IN (to_regclass('audit_log'), to_regclass('audit_chain'))
        AND NOT EXISTS (
          SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = c.relname || '_no_truncate'
        )
    LOOP
      EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()',
        part.relname || '_no_truncate', part.rel);
      EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %s FROM PUBLIC', part.rel);
    END LOOP;
  END IF;
  RETURN greatest(created, created_chain);
END
$$;
