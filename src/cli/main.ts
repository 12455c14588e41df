import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { version } = require('../package.json') as { version: string };

const USAGE = `carebase ${version}

Usage: carebase <command> [options]

Commands:
  migrate up|down|status|create   (coming)
  backup create|list|verify|restore|prune   (coming)
  audit verify   (coming)
  import chat-json FILE   (coming)
  doctor   (coming)
  --version, --help
`;

const [command] = process.argv.slice(2);
if (command === '--version' || command === '-v') {
  process.stdout.write(`${version}\n`);
} else {
  process.stdout.write(USAGE);
  process.exitCode = command === undefined || command === '--help' || command === '-h' ? 0 : 2;
}
