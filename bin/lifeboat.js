#!/usr/bin/env node
// The build (npm install runs it through `prepare`) puts the CLI in dist/.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
