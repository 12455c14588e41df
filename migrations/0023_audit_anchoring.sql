-- carebase 0023: audit anchoring. Each installation's chains start from a random genesis instead
-- of a well-known constant, so a chain cannot be recomputed from public knowledge alone, and
-- cb.audit.checkpoint() can sign the chain heads together with that genesis and keep the signed
-- statement outside the database (a rewrite of every row by a superuser, with recomputed hashes,
-- then contradicts the checkpoints kept elsewhere).
--
--   audit_installation          one row: installation id and the random genesis (append-only)
--   audit_chain_head.anchor     the prev hash of a month chain's first link; NULL for chains
--                               started before this migration (anchored at audit_chain_anchor())
--   audit_row_hash(audit_log)   an entry's hash from its row (audit_verify() recomputes with it;
--                               later migrations extend the canonical form in one place)
--
-- audit_seal() is redefined with the settings 0020 gave it (no seq scans, merge or hash joins, JIT).

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

CREATE TABLE audit_installation (
  singleton boolean PRIMARY KEY DEFAULT true CONSTRAINT audit_installation_singleton CHECK (singleton),
  installation_id uuid NOT NULL DEFAULT gen_random_uuid(),
  -- 32 bytes from two random v4 UUIDs (244 random bits, from the server's strong random source).
  genesis bytea NOT NULL DEFAULT sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')),
  created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO audit_installation DEFAULT VALUES;

CREATE TRIGGER audit_installation_append_only BEFORE UPDATE OR DELETE ON audit_installation
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_installation_no_truncate BEFORE TRUNCATE ON audit_installation
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_installation FROM PUBLIC;

-- anchor: the prev hash of the chain's first link (NULL: a chain started before this migration,
-- anchored at audit_chain_anchor(month)); last_occurred_at: the newest link's occurred_at, so a
-- checkpoint names the link by its primary key (NULL until the month is next sealed).
ALTER TABLE audit_chain_head ADD COLUMN anchor bytea, ADD COLUMN last_occurred_at timestamptz;

-- The anchor of a new month chain: sha256(genesis || 'carebase.audit.v2:YYYY-MM').
CREATE FUNCTION audit_chain_genesis_anchor(month timestamptz) RETURNS bytea
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $$
  SELECT sha256(i.genesis || convert_to('carebase.audit.v2:' || to_char(month AT TIME ZONE 'UTC', 'YYYY-MM'), 'UTF8'))
  FROM audit_installation i
$$;

-- An entry's hash, recomputed from its stored row (the canonical form of audit_entry_hash()).
CREATE FUNCTION audit_row_hash(l audit_log) RETURNS bytea
LANGUAGE sql IMMUTABLE
SET search_path FROM CURRENT
AS $$
  SELECT audit_entry_hash(l.id, l.occurred_at, l.actor_user_id, l.actor_type, l.action, l.resource_type,
    l.resource_id, l.subject_id, l.outcome, l.outcome_detail, l.ip, l.user_agent, l.request_id,
    l.changes, l.metadata, l.txid)
$$;

CREATE OR REPLACE FUNCTION audit_seal() RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
-- The pending entries are a handful at the end of audit_log_txid_idx; without fresh statistics
-- on a new partition the planner would otherwise scan the whole month. (jit off: the penalty
-- cost of a disabled seq scan would otherwise trigger JIT compilation of a tiny query.)
SET enable_seqscan = off
SET enable_mergejoin = off
SET enable_hashjoin = off
SET jit = off
AS $$
DECLARE
  w bigint;
  open_before bigint[];
  snap pg_snapshot;
  r record;
  cur_month timestamptz;
  m timestamptz;
  seq bigint;
  last_id bigint;
  last_at timestamptz;
  prev bigint;
  head bytea;
  anchor bytea;
  sealed integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext(current_schema() || '.audit_seal'));
  SELECT s.watermark, s.open_txids INTO w, open_before FROM audit_seal_state s;
  -- Every transaction below this snapshot's xmax and not running in it has finished: its entries
  -- are visible to the next statement or never will be.
  snap := pg_current_snapshot();
  FOR r IN
    SELECT l.occurred_at, l.id, l.row_hash
    FROM audit_log l
    WHERE (l.txid >= w OR l.txid = ANY (open_before)) AND l.row_hash IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.occurred_at = l.occurred_at AND c.id = l.id)
    ORDER BY audit_month(l.occurred_at), l.id
  LOOP
    m := audit_month(r.occurred_at);
    IF cur_month IS DISTINCT FROM m THEN
      IF cur_month IS NOT NULL THEN
        INSERT INTO audit_chain_head AS h (month, last_seq, last_id, head_hash, anchor, last_occurred_at) VALUES (cur_month, seq, last_id, head, anchor, last_at)
        ON CONFLICT (month) DO UPDATE SET last_seq = excluded.last_seq, last_id = excluded.last_id, head_hash = excluded.head_hash,
          anchor = excluded.anchor, last_occurred_at = excluded.last_occurred_at, retired_at = NULL;
      END IF;
      cur_month := m;
      -- A retired month (its partition dropped by retention) that receives entries again starts
      -- a new chain from its anchor.
      SELECT h.last_seq, h.last_id, h.head_hash, h.anchor, h.last_occurred_at INTO seq, last_id, head, anchor, last_at FROM audit_chain_head h
      WHERE h.month = m AND h.retired_at IS NULL;
      IF NOT FOUND THEN
        seq := 0;
        last_id := NULL;
        last_at := NULL;
        -- A new chain starts from this installation's random genesis, not a well-known value.
        anchor := audit_chain_genesis_anchor(m);
        head := anchor;
      END IF;
    END IF;
    seq := seq + 1;
    prev := last_id;
    head := sha256(head || r.row_hash);
    last_id := r.id;
    last_at := r.occurred_at;
    INSERT INTO audit_chain (occurred_at, id, seq, prev_id, row_hash, chain_hash)
    VALUES (r.occurred_at, r.id, seq, prev, r.row_hash, head);
    sealed := sealed + 1;
  END LOOP;
  IF cur_month IS NOT NULL THEN
    INSERT INTO audit_chain_head AS h (month, last_seq, last_id, head_hash, anchor, last_occurred_at) VALUES (cur_month, seq, last_id, head, anchor, last_at)
    ON CONFLICT (month) DO UPDATE SET last_seq = excluded.last_seq, last_id = excluded.last_id, head_hash = excluded.head_hash,
      anchor = excluded.anchor, last_occurred_at = excluded.last_occurred_at, retired_at = NULL;
  END IF;
  UPDATE audit_seal_state s SET
    watermark = pg_snapshot_xmax(snap)::text::bigint,
    open_txids = ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(snap) x WHERE x::text::bigint >= w OR x::text::bigint = ANY (open_before))
  WHERE s.watermark <> pg_snapshot_xmax(snap)::text::bigint OR sealed > 0;
  RETURN sealed;
END
$$;

CREATE OR REPLACE FUNCTION audit_verify(from_at timestamptz, to_at timestamptz,
  OUT checked bigint, OUT first_bad_id bigint, OUT reason text)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
  w bigint;
  still_open bigint[];
  h record;
  r record;
  part_name text;
  expected_seq bigint;
  expected_prev bigint;
  head bytea;
  bad_id bigint;
  bad_reason text;
  unsealed_id bigint;
  unsealed_reason text;
BEGIN
  checked := 0;
  SELECT s.watermark, s.open_txids INTO w, still_open FROM audit_seal_state s;
  FOR h IN
    SELECT * FROM audit_chain_head ch
    WHERE ch.retired_at IS NULL
      AND (from_at IS NULL OR ch.month + interval '1 month' > from_at)
      AND (to_at IS NULL OR ch.month < to_at)
    ORDER BY ch.month
  LOOP
    part_name := 'audit_log_p' || to_char(h.month AT TIME ZONE 'UTC', 'YYYYMM');
    IF to_regclass(format('%I.%I', current_schema(), part_name)) IS NULL THEN
      first_bad_id := h.last_id;
      reason := 'partition_missing';
      RETURN;
    END IF;
    bad_id := NULL;
    bad_reason := NULL;
    unsealed_id := NULL;
    expected_seq := 1;
    expected_prev := NULL;
    head := coalesce(h.anchor, audit_chain_anchor(h.month));
    FOR r IN
      SELECT c.id, c.seq, c.prev_id, c.row_hash, c.chain_hash, l.id AS entry_id,
             CASE WHEN l.id IS NULL THEN NULL ELSE audit_row_hash(l) END AS entry_hash
      FROM audit_chain c
      LEFT JOIN audit_log l ON l.occurred_at = c.occurred_at AND l.id = c.id
      WHERE c.occurred_at >= h.month AND c.occurred_at < h.month + interval '1 month'
      ORDER BY c.seq
    LOOP
      IF r.seq <> expected_seq OR r.prev_id IS DISTINCT FROM expected_prev THEN
        -- A link is missing: the entry it sealed was removed with it.
        bad_id := coalesce(r.prev_id, r.id);
        bad_reason := 'entry_removed';
      ELSIF r.entry_id IS NULL THEN
        bad_id := r.id;
        bad_reason := 'entry_removed';
      ELSIF r.entry_hash <> r.row_hash THEN
        bad_id := r.id;
        bad_reason := 'entry_altered';
      ELSIF r.chain_hash <> sha256(head || r.row_hash) THEN
        bad_id := r.id;
        bad_reason := 'chain_altered';
      END IF;
      EXIT WHEN bad_id IS NOT NULL;
      head := r.chain_hash;
      expected_seq := r.seq + 1;
      expected_prev := r.id;
      checked := checked + 1;
    END LOOP;
    IF bad_id IS NULL AND (expected_seq - 1 <> h.last_seq OR head <> h.head_hash) THEN
      bad_id := h.last_id;
      bad_reason := 'entry_removed';
    END IF;
    -- Entries with no link: inserted with triggers disabled, altered before sealing, or
    -- committed long enough ago that sealing must have covered them.
    SELECT l.id,
           CASE WHEN l.row_hash IS NOT NULL AND l.row_hash <> audit_row_hash(l)
                THEN 'entry_altered' ELSE 'entry_inserted_out_of_band' END
    INTO unsealed_id, unsealed_reason
    FROM audit_log l
    WHERE l.occurred_at >= h.month AND l.occurred_at < h.month + interval '1 month'
      AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.occurred_at = l.occurred_at AND c.id = l.id)
      AND (l.row_hash IS NULL OR (l.txid < w AND l.txid <> ALL (still_open)) OR l.row_hash <> audit_row_hash(l))
    ORDER BY l.id
    LIMIT 1;
    IF unsealed_id IS NOT NULL AND (bad_id IS NULL OR unsealed_id < bad_id) THEN
      bad_id := unsealed_id;
      bad_reason := unsealed_reason;
    END IF;
    IF bad_id IS NOT NULL THEN
      first_bad_id := bad_id;
      reason := bad_reason;
      RETURN;
    END IF;
  END LOOP;
  -- Entries in a month that has no chain at all.
  SELECT l.id INTO bad_id
  FROM audit_log l
  WHERE (from_at IS NULL OR l.occurred_at >= audit_month(from_at))
    AND (to_at IS NULL OR l.occurred_at < to_at)
    AND NOT EXISTS (SELECT 1 FROM audit_chain_head ch WHERE ch.month = audit_month(l.occurred_at))
    AND (l.row_hash IS NULL OR (l.txid < w AND l.txid <> ALL (still_open)) OR l.row_hash <> audit_row_hash(l))
  ORDER BY l.id
  LIMIT 1;
  IF bad_id IS NOT NULL THEN
    first_bad_id := bad_id;
    reason := 'entry_inserted_out_of_band';
  END IF;
END
$$;

-- carebase:down
SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);
-- Chains anchored on the genesis cannot be verified without it: refuse rather than destroy evidence.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM audit_chain_head WHERE anchor IS NOT NULL) THEN
    RAISE EXCEPTION 'carebase: audit chains anchored on this installation''s genesis exist; rolling back 0023 would leave them unverifiable'
      USING ERRCODE = 'object_in_use';
  END IF;
END
$$;
CREATE OR REPLACE FUNCTION audit_verify(from_at timestamptz, to_at timestamptz,
  OUT checked bigint, OUT first_bad_id bigint, OUT reason text)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
  w bigint;
  still_open bigint[];
  h record;
  r record;
  part_name text;
  expected_seq bigint;
  expected_prev bigint;
  head bytea;
  bad_id bigint;
  bad_reason text;
  unsealed_id bigint;
  unsealed_reason text;
BEGIN
  checked := 0;
  SELECT s.watermark, s.open_txids INTO w, still_open FROM audit_seal_state s;
  FOR h IN
    SELECT * FROM audit_chain_head ch
    WHERE ch.retired_at IS NULL
      AND (from_at IS NULL OR ch.month + interval '1 month' > from_at)
      AND (to_at IS NULL OR ch.month < to_at)
    ORDER BY ch.month
  LOOP
    part_name := 'audit_log_p' || to_char(h.month AT TIME ZONE 'UTC', 'YYYYMM');
    IF to_regclass(format('%I.%I', current_schema(), part_name)) IS NULL THEN
      first_bad_id := h.last_id;
      reason := 'partition_missing';
      RETURN;
    END IF;
    bad_id := NULL;
    bad_reason := NULL;
    unsealed_id := NULL;
    expected_seq := 1;
    expected_prev := NULL;
    head := audit_chain_anchor(h.month);
    FOR r IN
      SELECT c.id, c.seq, c.prev_id, c.row_hash, c.chain_hash, l.id AS entry_id,
             CASE WHEN l.id IS NULL THEN NULL ELSE audit_entry_hash(l.id, l.occurred_at, l.actor_user_id, l.actor_type, l.action, l.resource_type,
        l.resource_id, l.subject_id, l.outcome, l.outcome_detail, l.ip, l.user_agent, l.request_id,
        l.changes, l.metadata, l.txid) END AS entry_hash
      FROM audit_chain c
      LEFT JOIN audit_log l ON l.occurred_at = c.occurred_at AND l.id = c.id
      WHERE c.occurred_at >= h.month AND c.occurred_at < h.month + interval '1 month'
      ORDER BY c.seq
    LOOP
      IF r.seq <> expected_seq OR r.prev_id IS DISTINCT FROM expected_prev THEN
        -- A link is missing: the entry it sealed was removed with it.
        bad_id := coalesce(r.prev_id, r.id);
        bad_reason := 'entry_removed';
      ELSIF r.entry_id IS NULL THEN
        bad_id := r.id;
        bad_reason := 'entry_removed';
      ELSIF r.entry_hash <> r.row_hash THEN
        bad_id := r.id;
        bad_reason := 'entry_altered';
      ELSIF r.chain_hash <> sha256(head || r.row_hash) THEN
        bad_id := r.id;
        bad_reason := 'chain_altered';
      END IF;
      EXIT WHEN bad_id IS NOT NULL;
      head := r.chain_hash;
      expected_seq := r.seq + 1;
      expected_prev := r.id;
      checked := checked + 1;
    END LOOP;
    IF bad_id IS NULL AND (expected_seq - 1 <> h.last_seq OR head <> h.head_hash) THEN
      bad_id := h.last_id;
      bad_reason := 'entry_removed';
    END IF;
    -- Entries with no link: inserted with triggers disabled, altered before sealing, or
    -- committed long enough ago that sealing must have covered them.
    SELECT l.id,
           CASE WHEN l.row_hash IS NOT NULL AND l.row_hash <> audit_entry_hash(l.id, l.occurred_at, l.actor_user_id, l.actor_type, l.action, l.resource_type,
        l.resource_id, l.subject_id, l.outcome, l.outcome_detail, l.ip, l.user_agent, l.request_id,
        l.changes, l.metadata, l.txid)
                THEN 'entry_altered' ELSE 'entry_inserted_out_of_band' END
    INTO unsealed_id, unsealed_reason
    FROM audit_log l
    WHERE l.occurred_at >= h.month AND l.occurred_at < h.month + interval '1 month'
      AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.occurred_at = l.occurred_at AND c.id = l.id)
      AND (l.row_hash IS NULL OR (l.txid < w AND l.txid <> ALL (still_open)) OR l.row_hash <> audit_entry_hash(l.id, l.occurred_at, l.actor_user_id, l.actor_type, l.action, l.resource_type,
        l.resource_id, l.subject_id, l.outcome, l.outcome_detail, l.ip, l.user_agent, l.request_id,
        l.changes, l.metadata, l.txid))
    ORDER BY l.id
    LIMIT 1;
    IF unsealed_id IS NOT NULL AND (bad_id IS NULL OR unsealed_id < bad_id) THEN
      bad_id := unsealed_id;
      bad_reason := unsealed_reason;
    END IF;
    IF bad_id IS NOT NULL THEN
      first_bad_id := bad_id;
      reason := bad_reason;
      RETURN;
    END IF;
  END LOOP;
  -- Entries in a month that has no chain at all.
  SELECT l.id INTO bad_id
  FROM audit_log l
  WHERE (from_at IS NULL OR l.occurred_at >= audit_month(from_at))
    AND (to_at IS NULL OR l.occurred_at < to_at)
    AND NOT EXISTS (SELECT 1 FROM audit_chain_head ch WHERE ch.month = audit_month(l.occurred_at))
    AND (l.row_hash IS NULL OR (l.txid < w AND l.txid <> ALL (still_open)) OR l.row_hash <> audit_entry_hash(l.id, l.occurred_at, l.actor_user_id, l.actor_type, l.action, l.resource_type,
        l.resource_id, l.subject_id, l.outcome, l.outcome_detail, l.ip, l.user_agent, l.request_id,
        l.changes, l.metadata, l.txid))
  ORDER BY l.id
  LIMIT 1;
  IF bad_id IS NOT NULL THEN
    first_bad_id := bad_id;
    reason := 'entry_inserted_out_of_band';
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION audit_seal() RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
-- The pending entries are a handful at the end of audit_log_txid_idx; without fresh statistics
-- on a new partition the planner would otherwise scan the whole month. (jit off: the penalty
-- cost of a disabled seq scan would otherwise trigger JIT compilation of a tiny query.)
SET enable_seqscan = off
SET enable_mergejoin = off
SET enable_hashjoin = off
SET jit = off
AS $$
DECLARE
  w bigint;
  open_before bigint[];
  snap pg_snapshot;
  r record;
  cur_month timestamptz;
  m timestamptz;
  seq bigint;
  last_id bigint;
  prev bigint;
  head bytea;
  sealed integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext(current_schema() || '.audit_seal'));
  SELECT s.watermark, s.open_txids INTO w, open_before FROM audit_seal_state s;
  -- Every transaction below this snapshot's xmax and not running in it has finished: its entries
  -- are visible to the next statement or never will be.
  snap := pg_current_snapshot();
  FOR r IN
    SELECT l.occurred_at, l.id, l.row_hash
    FROM audit_log l
    WHERE (l.txid >= w OR l.txid = ANY (open_before)) AND l.row_hash IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.occurred_at = l.occurred_at AND c.id = l.id)
    ORDER BY audit_month(l.occurred_at), l.id
  LOOP
    m := audit_month(r.occurred_at);
    IF cur_month IS DISTINCT FROM m THEN
      IF cur_month IS NOT NULL THEN
        INSERT INTO audit_chain_head AS h (month, last_seq, last_id, head_hash) VALUES (cur_month, seq, last_id, head)
        ON CONFLICT (month) DO UPDATE SET last_seq = excluded.last_seq, last_id = excluded.last_id, head_hash = excluded.head_hash, retired_at = NULL;
      END IF;
      cur_month := m;
      -- A retired month (its partition dropped by retention) that receives entries again starts
      -- a new chain from its anchor.
      SELECT h.last_seq, h.last_id, h.head_hash INTO seq, last_id, head FROM audit_chain_head h
      WHERE h.month = m AND h.retired_at IS NULL;
      IF NOT FOUND THEN
        seq := 0;
        last_id := NULL;
        head := audit_chain_anchor(m);
      END IF;
    END IF;
    seq := seq + 1;
    prev := last_id;
    head := sha256(head || r.row_hash);
    last_id := r.id;
    INSERT INTO audit_chain (occurred_at, id, seq, prev_id, row_hash, chain_hash)
    VALUES (r.occurred_at, r.id, seq, prev, r.row_hash, head);
    sealed := sealed + 1;
  END LOOP;
  IF cur_month IS NOT NULL THEN
    INSERT INTO audit_chain_head AS h (month, last_seq, last_id, head_hash) VALUES (cur_month, seq, last_id, head)
    ON CONFLICT (month) DO UPDATE SET last_seq = excluded.last_seq, last_id = excluded.last_id, head_hash = excluded.head_hash, retired_at = NULL;
  END IF;
  UPDATE audit_seal_state s SET
    watermark = pg_snapshot_xmax(snap)::text::bigint,
    open_txids = ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(snap) x WHERE x::text::bigint >= w OR x::text::bigint = ANY (open_before))
  WHERE s.watermark <> pg_snapshot_xmax(snap)::text::bigint OR sealed > 0;
  RETURN sealed;
END
$$;
DROP FUNCTION IF EXISTS audit_row_hash(audit_log);
DROP FUNCTION IF EXISTS audit_chain_genesis_anchor(timestamptz);
-- carebase:lint-ignore ban-drop-column: the down of this migration removes what its up added
ALTER TABLE audit_chain_head DROP COLUMN IF EXISTS anchor, DROP COLUMN IF EXISTS last_occurred_at;
-- carebase:lint-ignore ban-drop-table: the down of this migration removes what its up added
DROP TABLE IF EXISTS audit_installation;
