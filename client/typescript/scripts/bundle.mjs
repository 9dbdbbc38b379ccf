// Bundles the package for the pages the local runtime serves (no CDN, no build step at
// install time: the bundles are committed, so `pip install` + `leaderboard up` works
// without Node):
//
//   runtime/web/leaderboard-client.js   the whole client (src/index.ts), for board.js,
//                                       ticker.js and index.js
//   runtime/web/leaderboard-widget.js   the embeddable custom elements (src/widget.ts),
//                                       one self-contained module
//
//   node scripts/bundle.mjs           write them
//   node scripts/bundle.mjs --check   exit 1 naming each bundle that differs from src/ (CI)
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..");
const repo = join(pkg, "..", "..");
const web = join(repo, "runtime", "web");
const { name, version } = JSON.parse(await readFile(join(pkg, "package.json"), "utf8"));

const BUNDLES = {
  "leaderboard-client.js": "src/index.ts",
  "leaderboard-widget.js": "src/widget.ts",
};

async function bundle(entry) {
  const result = await build({
    absWorkingDir: pkg,
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2020",
    charset: "utf8",
    legalComments: "none",
    external: ["ws"],
    logLevel: "warning",
    banner: {
      js:
        `// ${name} ${version} (${entry}), bundled by client/typescript/scripts/bundle.mjs: do not edit.\n` +
        "// Rebuild with `npm run bundle` in client/typescript; a test fails when it drifts.",
    },
  });
  return result.outputFiles[0].text;
}

const check = process.argv.includes("--check");
const drifted = [];
for (const [file, entry] of Object.entries(BUNDLES)) {
  const path = join(web, file);
  const text = await bundle(entry);
  let current = null;
  try {
    current = await readFile(path, "utf8");
  } catch {
    current = null;
  }
  if (current === text) continue;
  if (check) drifted.push(relative(repo, path));
  else {
    await writeFile(path, text);
    console.log(`wrote ${relative(repo, path)} (${text.length} bytes)`);
  }
}
for (const path of drifted) console.error(`${path} differs from client/typescript/src: run \`npm run bundle\``);
process.exit(drifted.length ? 1 : 0);
