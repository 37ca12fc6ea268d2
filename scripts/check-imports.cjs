// Refuses imports that break the project's layering (see STYLE.md): the
// components talk only through the API, never by importing each other.
//   api/ (generated types, codec)  <-  util/, client/  <-  components  <-  cmd/  <-  integration/, bench/
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const components = ['apiserver', 'scheduler', 'controllers', 'kubelet', 'proxy', 'tsctl'];
// What each top-level folder may import from (besides itself, node: and npm packages).
const allowed = {
  api: [],
  util: [],
  client: ['api', 'util'],
  scripts: ['api', 'util', 'client'],
  cmd: ['api', 'util', 'client', 'lab', ...components],
  // tsk lab: builds clusters out of tsk's own processes; it may clean up after the runtime.
  lab: ['api', 'util', 'client', 'kubelet'],
  integration: ['api', 'util', 'client', 'cmd', 'lab', ...components, 'integration'],
  bench: ['api', 'util', 'client', 'cmd', 'lab', ...components, 'integration'],
};
for (const c of components) allowed[c] = ['api', 'util', 'client'];

function* tsFiles(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* tsFiles(p);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield p;
  }
}

const importRe = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g;
const problems = [];
for (const top of Object.keys(allowed)) {
  const dir = path.join(root, top);
  if (!fs.existsSync(dir)) continue;
  for (const file of tsFiles(dir)) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(importRe)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (!spec || !spec.startsWith('.')) continue;
      const target = path.relative(root, path.resolve(path.dirname(file), spec)).split(path.sep)[0];
      if (target === top || allowed[top].includes(target)) continue;
      problems.push(`${path.relative(root, file)}: imports ${spec} (${top}/ may not import ${target}/)`);
    }
  }
}
if (problems.length > 0) {
  console.error(`check-imports: ${problems.length} import(s) break the layering:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('check-imports: layering ok');
