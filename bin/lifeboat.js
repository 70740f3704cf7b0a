#!/usr/bin/env -S node --max-semi-space-size=1
// A small young generation makes V8 collect the many short-lived network and part
// buffers of a streamed backup sooner: peak memory stays flat near 150 MB (bench/).
// The build (npm install runs it through `prepare`) puts the CLI in dist/.
import '../dist/cli/run.js';
