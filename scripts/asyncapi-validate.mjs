// Checks an AsyncAPI document with the official parser (@asyncapi/parser, pinned in
// package.json; `npm ci` installs it).
//
//   node scripts/asyncapi-validate.mjs out/asyncapi.yaml
//
// Prints one JSON object: the document's AsyncAPI version and every diagnostic the parser
// reports, by severity. Exits 0 when the document parsed without errors, 1 when it did not,
// 2 on bad usage.
import { Parser, fromFile } from '@asyncapi/parser';

const SEVERITIES = ['error', 'warning', 'info', 'hint'];

const [file] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/asyncapi-validate.mjs FILE');
  process.exit(2);
}

const parser = new Parser();
const { document, diagnostics } = await fromFile(parser, file).parse();
const report = { file, version: document ? document.version() : null };
for (const name of SEVERITIES) {
  report[`${name}s`] = [];
}
for (const diagnostic of diagnostics) {
  report[`${SEVERITIES[diagnostic.severity] ?? 'error'}s`].push({
    code: diagnostic.code,
    message: diagnostic.message,
    path: diagnostic.path.join('/'),
  });
}
console.log(JSON.stringify(report, null, 2));
process.exit(document && report.errors.length === 0 ? 0 : 1);
