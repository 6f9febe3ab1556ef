// Validate GLB files with the Khronos glTF validator; prints one JSON report per file.
import { readFileSync } from "node:fs";
import validator from "gltf-validator";

const reports = [];
for (const path of process.argv.slice(2)) {
  const report = await validator.validateBytes(new Uint8Array(readFileSync(path)), { uri: path });
  reports.push({ path, errors: report.issues.numErrors, warnings: report.issues.numWarnings,
                 messages: report.issues.messages.filter((m) => m.severity === 0).slice(0, 5) });
}
console.log(JSON.stringify(reports));
