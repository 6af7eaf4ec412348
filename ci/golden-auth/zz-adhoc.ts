// scratch: not committed
import { readFileSync } from 'node:fs';
import { differingCommands, etcdctlRunner, parseScript, runScript, startRealEtcd } from './harness.js';
import { ours } from '../../test/cli/ctl-harness.js';
const steps = parseScript(readFileSync(process.argv[2] as string, 'utf8'));
const [a, b] = [await startRealEtcd(), await startRealEtcd()];
try {
  const want = await runScript(steps, etcdctlRunner(a.endpoint));
  const got = await runScript(steps, (argv, stdin) => ours(b.endpoint, argv, stdin));
  if (process.argv[3] === 'show') console.log(want);
  console.log(differingCommands(want, got).join('\n') || 'SAME');
} finally { await a.close(); await b.close(); }
process.exit(0);
