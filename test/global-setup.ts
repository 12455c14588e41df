import { setupPostgres } from 'carebase/testing';

/**
 * One PostgreSQL server for the whole run: CAREBASE_TEST_DATABASE_URL when set (CI points it at
 * its server), else a container or a throwaway cluster from local binaries, stopped at the end.
 * The run leaves no database behind: the templates it built are dropped at the end too.
 */
export default () => setupPostgres({ keepTemplates: false });
