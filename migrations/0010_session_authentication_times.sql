-- carebase 0010: when a session's user proved who they are.
--
-- authenticated_at: the last time the user gave their password (or completed a reset) for this
-- session; mfa_at: the last time they passed a second factor, null when never. Both feed
-- sessions.validate(token, { maxAuthAgeMs, requireMfa }) for step-up before sensitive actions.
-- Rows created before this migration count as authenticated when they were created.

ALTER TABLE sessions
  ADD COLUMN authenticated_at timestamptz,
  ADD COLUMN mfa_at timestamptz;

-- carebase:down
ALTER TABLE sessions
  DROP COLUMN IF EXISTS mfa_at,
  DROP COLUMN IF EXISTS authenticated_at;
