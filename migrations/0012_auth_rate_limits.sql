-- carebase 0012: rate limits per source network, shared by every process of the host.
--
-- One row per (scope, network, minute bucket) counts the hits of that minute: failed logins, MFA
-- codes and reset completions ('failure'), and password-reset requests ('reset_request'). A
-- limit sums the buckets of its window (15 minutes by default), so the window slides by the
-- minute. source is the client's network (IPv4 /24, IPv6 /64 by default), never a single address
-- only, so one host cannot rotate addresses inside its block. Buckets older than the longest
-- window are deleted by the writes themselves (the table holds at most one window of rows).

CREATE TABLE auth_rate_limits (
  scope text NOT NULL CONSTRAINT auth_rate_limits_scope_check CHECK (scope IN ('failure', 'reset_request')),
  source cidr NOT NULL,
  bucket_start timestamptz NOT NULL,
  hits integer NOT NULL DEFAULT 1 CONSTRAINT auth_rate_limits_hits_check CHECK (hits > 0),
  CONSTRAINT auth_rate_limits_pkey PRIMARY KEY (scope, source, bucket_start)
);

-- pruning: WHERE bucket_start < $1
CREATE INDEX auth_rate_limits_bucket_start_idx ON auth_rate_limits (bucket_start);

-- carebase:down
DROP TABLE IF EXISTS auth_rate_limits;
