-- carebase 0004: the audit log (FHIR AuditEvent / IHE ATNA fields), range-partitioned by month on
-- occurred_at, with the partition key in the primary key. Owned by the audit module: tamper
-- evidence, append-only enforcement and retention are added there.

CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  actor_user_id uuid,
  actor_type text NOT NULL DEFAULT 'system' CONSTRAINT audit_log_actor_type_check CHECK (actor_type IN ('user', 'system', 'service')),
  action text NOT NULL CONSTRAINT audit_log_action_check CHECK (action ~ '^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$' AND length(action) <= 100),
  resource_type text NOT NULL,
  resource_id text,
  subject_id text,
  outcome text NOT NULL DEFAULT 'success' CONSTRAINT audit_log_outcome_check CHECK (outcome IN ('success', 'failure')),
  outcome_detail text,
  ip inet,
  user_agent text,
  request_id text,
  changes jsonb,
  metadata jsonb,
  PRIMARY KEY (occurred_at, id)
) PARTITION BY RANGE (occurred_at);

SELECT ensure_monthly_partitions('audit_log', now(), 2);

-- carebase:down
DROP TABLE audit_log;
