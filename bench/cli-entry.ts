/** The CLI as compiled with the bench, so the benchmark runs the code it was built from (no separate `npm run build`). */
import { main } from '../src/cli.js';

process.exitCode = await main(process.argv.slice(2));
