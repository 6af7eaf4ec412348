#!/usr/bin/env node
/** `tsetcd`: an etcd-compatible member. With no flags: one member on 127.0.0.1:2379, data in ./default.tsetcd. */
import { FlagError, USAGE, parseServerFlags } from './flags.js';
import { startServer } from './server-process.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  if (argv.includes('--version')) {
    console.log('tsetcd Version: 0.1.0\nAPI Version: 3.5');
    return;
  }
  const flags = parseServerFlags(argv, process.env);
  const server = await startServer(flags);
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    console.error(JSON.stringify({ level: 'info', msg: 'shutting down', signal }));
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof FlagError) {
    console.error(`tsetcd: ${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
