// Copies the pinned browser libraries (package-lock.json) to where they are served from, or checks
// the committed copies: socket.io-client for the widget (vendor/), htmx and Chart.js for the staff
// console (knowledge/kumpel_knowledge/console/static/vendor/), each with its licence.
// Usage: npm ci && npm run vendor   |   npm run vendor:check (exit 1 when a copy differs)
import { readFileSync, copyFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = join(dirname(fileURLToPath(import.meta.url)), "..");
const console_ = "../knowledge/kumpel_knowledge/console/static/vendor";
const files = [
  ["node_modules/socket.io-client/dist/socket.io.min.js", "vendor/socket.io.min.js"],
  ["node_modules/socket.io-client/LICENSE", "vendor/LICENSE.socket.io-client"],
  ["node_modules/htmx.org/dist/htmx.min.js", `${console_}/htmx.min.js`],
  ["node_modules/htmx.org/LICENSE", `${console_}/LICENSE.htmx.org`],
  ["node_modules/chart.js/dist/chart.umd.min.js", `${console_}/chart.umd.min.js`],
  ["node_modules/chart.js/LICENSE.md", `${console_}/LICENSE.chart.js.md`],
];
const check = process.argv.includes("--check");
let differs = false;
for (const [from, to] of files) {
  const source = join(here, from);
  const target = join(here, to);
  if (check) {
    if (!existsSync(target) || !readFileSync(source).equals(readFileSync(target))) {
      console.error(`${to} differs from ${from}: run npm run vendor`);
      differs = true;
    }
  } else {
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(source, target);
    console.log(`copied ${from} -> ${to}`);
  }
}
process.exit(differs ? 1 : 0);
