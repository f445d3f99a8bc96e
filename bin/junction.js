#!/usr/bin/env node
// The `junction` command. Runs the compiled CLI; `npm install` builds it (the `prepare` script).
import { main } from "../dist/cli/main.js";
main(process.argv.slice(2));
