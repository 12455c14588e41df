/**
 * The raw baseline of the audit benches: a table like carebase's `audit_log`, as plain as a host
 * would write it by hand.
 */

/** The columns an audit entry writes, in the order of carebase's own INSERT. */
export const AUDIT_PLAIN_COLUMNS =
  'occurred_at, actor_user_id, actor_type, action, resource_type, resource_id, subject_id, outcome, outcome_detail, ip, user_agent, request_id, changes, metadata, severity, purpose_of_use, legal_basis, recipient, description, break_glass, break_glass_reason';

/**
 * The same table as audit_log (columns, checks, partitions, indexes), without what tamper evidence
 * adds: the row hash and its trigger, the transaction id and its index, the chain.
 */
export const AUDIT_PLAIN_TABLE = `
  create table carebase.audit_plain (
    id bigint generated always as identity,
    occurred_at timestamptz not null default now(),
    actor_user_id uuid,
    actor_type text not null default 'system' check (actor_type in ('user', 'system', 'service')),
    action text not null check (action ~ '^[a-z][a-z0-9_-]*(\\.[a-z][a-z0-9_-]*)*$' and length(action) <= 100),
    resource_type text not null,
    resource_id text,
    subject_id text,
    outcome text not null default 'success' check (outcome in ('success', 'failure')),
    outcome_detail text,
    ip inet,
    user_agent text,
    request_id text,
    changes jsonb,
    metadata jsonb,
    severity text not null default 'info' check (severity in ('info', 'notice', 'warning', 'high', 'critical')),
    purpose_of_use text,
    legal_basis text,
    recipient text,
    description text,
    break_glass boolean not null default false,
    break_glass_reason text,
    primary key (occurred_at, id)
  ) partition by range (occurred_at);
  create index on carebase.audit_plain (occurred_at desc, id desc) where break_glass;
  create index on carebase.audit_plain (actor_user_id, occurred_at desc, id desc) where actor_user_id is not null;
  create index on carebase.audit_plain (resource_type, resource_id, occurred_at desc, id desc);
  create index on carebase.audit_plain (action, occurred_at desc, id desc);
  create index on carebase.audit_plain (subject_id, occurred_at desc, id desc) where subject_id is not null;
  select carebase.ensure_monthly_partitions('audit_plain', now(), 2);`;
