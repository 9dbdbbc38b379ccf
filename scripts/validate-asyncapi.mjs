// Validates an AsyncAPI document with the AsyncAPI parser (npm @asyncapi/parser).
//
//   node scripts/validate-asyncapi.mjs docs/asyncapi.json
//
// Prints every diagnostic; exits 1 when the parser reports an error or a warning, or
// finds no document, so a test can require a clean parse.
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const path = process.argv[2];
if (!path) {
  console.error("usage: node scripts/validate-asyncapi.mjs <asyncapi.json>");
  process.exit(2);
}
const parser = new Parser();
const { document, diagnostics } = await parser.parse(await readFile(path, "utf8"), { source: path });
const severities = ["error", "warning", "info", "hint"];
let failed = !document;
for (const d of diagnostics) {
  const where = d.path && d.path.length ? d.path.join(".") : "(document)";
  console.log(`${severities[d.severity] ?? d.severity} ${d.code}: ${d.message} at ${where}`);
  if (d.severity <= 1) failed = true;
}
if (document) {
  const api = document.info();
  console.log(
    `parsed AsyncAPI ${document.version()}: ${api.title()} ${api.version()}, ` +
      `${document.operations().length} operations, ${document.allMessages().length} messages`,
  );
}
process.exit(failed ? 1 : 0);
