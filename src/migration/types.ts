// The migration types live in src/types/ (the lowest layer), so configuration can name a source.
export type {
  MigrationCode,
  MigrationDb,
  MigrationDefinition,
  MigrationProgress,
  MigrationResult,
  MigrationSource,
} from '../types/migration.js';
