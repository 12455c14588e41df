import m0001 from '../../migrations/0001_foundation.sql';
import m0002 from '../../migrations/0002_users.sql';
import m0003 from '../../migrations/0003_sessions.sql';
import m0004 from '../../migrations/0004_audit.sql';
import m0005 from '../../migrations/0005_chat.sql';
import m0006 from '../../migrations/0006_analytics.sql';
import m0007 from '../../migrations/0007_analytics_dirty_race.sql';
import m0008 from '../../migrations/0008_least_privilege.sql';
import m0009 from '../../migrations/0009_account_lifecycle.sql';
import m0010 from '../../migrations/0010_session_authentication_times.sql';
import m0011 from '../../migrations/0011_account_tokens.sql';
import m0012 from '../../migrations/0012_auth_rate_limits.sql';
import m0013 from '../../migrations/0013_mfa.sql';
import m0015 from '../../migrations/0015_imports.sql';
import m0016 from '../../migrations/0016_users_external_id.sql';
import m0017 from '../../migrations/0017_conversations_external_id.sql';
import m0018 from '../../migrations/0018_conversations_external_lookup.sql';
import m0019 from '../../migrations/0019_chat_messages_external_id.sql';
import m0020 from '../../migrations/0020_audit_seal_cost.sql';
import m0023 from '../../migrations/0023_audit_anchoring.sql';
import m0024 from '../../migrations/0024_audit_compliance_fields.sql';
import m0027 from '../../migrations/0027_analytics_measures.sql';
import m0028 from '../../migrations/0028_partitioned_tables.sql';
import m0029 from '../../migrations/0029_chat_messages_statistics.sql';
import m0030 from '../../migrations/0030_conversation_participants.sql';
import m0031 from '../../migrations/0031_chat_message_authors.sql';
import m0032 from '../../migrations/0032_chat_usage.sql';
import m0033 from '../../migrations/0033_encryption_data_keys.sql';
import m0036 from '../../migrations/0036_rate_limit_subjects.sql';
import m0037 from '../../migrations/0037_chat_search_prefix.sql';
import m0038 from '../../migrations/0038_partition_create_race.sql';
import m0039 from '../../migrations/0039_chat_message_trees.sql';
import m0040 from '../../migrations/0040_chat_message_parts.sql';
import m0041 from '../../migrations/0041_chat_usage_rollups.sql';
import m0042 from '../../migrations/0042_chat_blind_index.sql';
import m0043 from '../../migrations/0043_row_level_security.sql';
import m0044 from '../../migrations/0044_chat_blind_index_gin.sql';
import m0045 from '../../migrations/0045_session_validate_function.sql';
import m0046 from '../../migrations/0046_chat_history_function.sql';
import m0047 from '../../migrations/0047_analytics_row_level_security.sql';
import m0048 from '../../migrations/0048_audit_hash_inline.sql';
import m0049 from '../../migrations/0049_chat_usage_row_level_security.sql';
import m0050 from '../../migrations/0050_session_validate_json.sql';
import m0051 from '../../migrations/0051_session_validate_json_many.sql';
import { parseMigration } from './parse.js';
import type { MigrationDefinition, MigrationSource } from './types.js';

/**
 * The library's own migrations, embedded into the build as text: nothing reads `migrations/` at
 * run time, so bundlers (Next.js, esbuild) cannot lose them. Every file in `migrations/` must be
 * listed here; a test fails otherwise.
 */
const LIBRARY_MIGRATION_FILES: readonly (readonly [name: string, text: string])[] = [
  ['0001_foundation', m0001],
  ['0002_users', m0002],
  ['0003_sessions', m0003],
  ['0004_audit', m0004],
  ['0005_chat', m0005],
  ['0006_analytics', m0006],
  ['0007_analytics_dirty_race', m0007],
  ['0008_least_privilege', m0008],
  ['0009_account_lifecycle', m0009],
  ['0010_session_authentication_times', m0010],
  ['0011_account_tokens', m0011],
  ['0012_auth_rate_limits', m0012],
  ['0013_mfa', m0013],
  ['0015_imports', m0015],
  ['0016_users_external_id', m0016],
  ['0017_conversations_external_id', m0017],
  ['0018_conversations_external_lookup', m0018],
  ['0019_chat_messages_external_id', m0019],
  ['0020_audit_seal_cost', m0020],
  ['0023_audit_anchoring', m0023],
  ['0024_audit_compliance_fields', m0024],
  ['0027_analytics_measures', m0027],
  ['0028_partitioned_tables', m0028],
  ['0029_chat_messages_statistics', m0029],
  ['0030_conversation_participants', m0030],
  ['0031_chat_message_authors', m0031],
  ['0032_chat_usage', m0032],
  ['0033_encryption_data_keys', m0033],
  ['0036_rate_limit_subjects', m0036],
  ['0037_chat_search_prefix', m0037],
  ['0038_partition_create_race', m0038],
  ['0039_chat_message_trees', m0039],
  ['0040_chat_message_parts', m0040],
  ['0041_chat_usage_rollups', m0041],
  ['0042_chat_blind_index', m0042],
  ['0043_row_level_security', m0043],
  ['0044_chat_blind_index_gin', m0044],
  ['0045_session_validate_function', m0045],
  ['0046_chat_history_function', m0046],
  ['0047_analytics_row_level_security', m0047],
  ['0048_audit_hash_inline', m0048],
  ['0049_chat_usage_row_level_security', m0049],
  ['0050_session_validate_json', m0050],
  ['0051_session_validate_json_many', m0051],
];

let parsed: readonly MigrationDefinition[] | undefined;

/** The names of the library's migrations, in order. */
export function libraryMigrationNames(): readonly string[] {
  return LIBRARY_MIGRATION_FILES.map(([name]) => name);
}

/**
 * carebase's own migrations as a source (namespace `carebase`). Its SQL runs with `search_path`
 * set to the configured carebase schema.
 *
 * @example
 * ```ts
 * import { carebaseMigrations, migrate } from 'carebase/migration';
 * await migrate(cb.db, { sources: [carebaseMigrations] });
 * ```
 */
export const carebaseMigrations: MigrationSource = Object.freeze({
  namespace: 'carebase',
  useCarebaseSchema: true,
  onDrift: 'error' as const,
  async load(): Promise<readonly MigrationDefinition[]> {
    parsed ??= LIBRARY_MIGRATION_FILES.map(([name, text]) => parseMigration(name, text));
    return parsed;
  },
});
