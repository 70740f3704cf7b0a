// Process entry of the `lifeboat` command (bin/lifeboat.js runs the built copy).
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
