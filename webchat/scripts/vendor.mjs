// Copies the pinned socket.io client (package-lock.json) into vendor/, or checks the committed copy.
// Usage: npm ci && npm run vendor   |   npm run vendor:check (exit 1 when the copies differ)
import { readFileSync, copyFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = join(dirname(fileURLToPath(import.meta.url)), "..");
const files = [
  ["node_modules/socket.io-client/dist/socket.io.min.js", "vendor/socket.io.min.js"],
  ["node_modules/socket.io-client/LICENSE", "vendor/LICENSE.socket.io-client"],
];
const check = process.argv.includes("--check");
let differs = false;
for (const [from, to] of files) {
  const source = join(here, from);
  const target = join(here, to);
  if (check) {
    if (!readFileSync(source).equals(readFileSync(target))) {
      console.error(`${to} differs from ${from}: run npm run vendor`);
      differs = true;
    }
  } else {
    copyFileSync(source, target);
    console.log(`copied ${from} -> ${to}`);
  }
}
process.exit(differs ? 1 : 0);
