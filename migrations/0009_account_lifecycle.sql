-- carebase 0009: account lifecycle (registration awaiting approval, rejection), email-only
-- accounts and email verification.
--
-- status gains 'pending' (registered, awaiting an admin's approval; cannot log in or hold a
-- session). A rejected registration is 'disabled' with rejected_at set (and an optional reason),
-- so authenticate can tell it apart from an account an admin deactivated. username becomes
-- optional: an account may be known by its email alone (logins with '@' are emails, so the two
-- never collide). email_verified_at is set by the email-verification tokens (0011).

ALTER TABLE users
  ALTER COLUMN username DROP NOT NULL,
  DROP CONSTRAINT users_status_check,
  -- NOT VALID: every existing row satisfies the stricter check this one replaces.
  ADD CONSTRAINT users_status_check CHECK (status IN ('pending', 'active', 'disabled')) NOT VALID,
  ADD COLUMN approved_at timestamptz,
  ADD COLUMN rejected_at timestamptz,
  ADD COLUMN rejection_reason text,
  ADD COLUMN email_verified_at timestamptz,
  ADD COLUMN lockout_count integer NOT NULL DEFAULT 0,
  ADD CONSTRAINT users_rejection_reason_check CHECK (length(rejection_reason) <= 500) NOT VALID,
  ADD CONSTRAINT users_lockout_count_check CHECK (lockout_count >= 0) NOT VALID;

-- carebase:down
-- Refused (in its transaction, changing nothing) while an email-only or pending account exists.
-- carebase:lint-ignore setting-not-null, constraint-missing-not-valid: a rollback restores the old checks in full, and must fail while a row breaks them
ALTER TABLE users
  DROP CONSTRAINT IF EXISTS users_lockout_count_check,
  DROP CONSTRAINT IF EXISTS users_rejection_reason_check,
  DROP COLUMN IF EXISTS lockout_count,
  DROP COLUMN IF EXISTS email_verified_at,
  DROP COLUMN IF EXISTS rejection_reason,
  DROP COLUMN IF EXISTS rejected_at,
  DROP COLUMN IF EXISTS approved_at,
  DROP CONSTRAINT IF EXISTS users_status_check,
  ADD CONSTRAINT users_status_check CHECK (status IN ('active', 'disabled')),
  ALTER COLUMN username SET NOT NULL;
