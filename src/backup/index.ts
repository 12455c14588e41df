/**
 * `carebase/backup`: pg_dump / pg_restore helpers with manifests, verification, safe restore,
 * retention and scheduling. (Being built: see the backups issue.)
 *
 * @packageDocumentation
 */
export {};
