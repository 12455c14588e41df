/**
 * `carebase/testing`: a real, migrated PostgreSQL for any test suite. (Being built: see the
 * testing issue.)
 *
 * @packageDocumentation
 */
export {};
