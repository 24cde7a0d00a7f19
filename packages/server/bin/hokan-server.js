#!/usr/bin/env node
// The server as built (`pnpm build`): plain Node, no TypeScript at run time.
import "../dist/cli.js";
