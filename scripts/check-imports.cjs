// Refuses imports that break the project's layering (see STYLE.md): the
// components talk only through the API, never by importing each other.
//   util/  <-  api/ (generated types, codec)  <-  client/  <-  tunnel/  <-  components  <-  cmd/  <-  integration/, bench/
// Besides which folder may import which:
//   - a folder with an index.ts (client/, tunnel/, the components, lab/) is
//     imported only through it, never by a deep path into its files (the
//     kubelet has two faces: kubelet/ and its container runtime, kubelet/runtime/);
//     api/ and util/ are libraries of independent modules, imported by path;
//   - integration/ may use deep paths, because integration tests exercise
//     the internals of what they test (the store, the runtime, one controller);
//   - product code (everything but integration/ and *.test.ts) never imports
//     integration/ nor a test fake (FAKES): the product build
//     (tsconfig.build.json) leaves both out, and tsc would pull an imported
//     one back in.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const components = ['apiserver', 'scheduler', 'controllers', 'kubelet', 'proxy', 'dns', 'tsctl'];
// What each top-level folder may import from (besides itself, node: and npm packages).
const allowed = {
  api: ['util'],
  util: [],
  client: ['api', 'util'],
  // The node tunnel's framing, shared by its two ends (apiserver/tunnel, kubelet/tunnel).
  tunnel: ['api'],
  scripts: ['api', 'util', 'client'],
  cmd: ['api', 'util', 'client', 'lab', ...components],
  // tsk lab: builds clusters out of tsk's own processes; it may clean up after the runtime.
  lab: ['api', 'util', 'client', 'kubelet'],
  integration: ['api', 'util', 'client', 'tunnel', 'cmd', 'lab', 'chaos', ...components, 'integration'],
  bench: ['api', 'util', 'client', 'cmd', 'lab', ...components],
  // The chaos suite (issue 9): drives a lab, reads its nodes' runtime state, shares the benchmarks' percentile.
  chaos: ['api', 'util', 'client', 'lab', 'kubelet', 'bench'],
};
for (const c of components) allowed[c] = ['api', 'util', 'client'];
allowed.apiserver.push('tunnel');
allowed.kubelet.push('tunnel');

/** Folders imported only through their index.ts, and the faces each offers (the container runtime is a component of its own inside kubelet/). */
const faces = { kubelet: ['kubelet', 'kubelet/runtime'] };
const withIndex = new Set(['client', 'tunnel', 'lab', ...components]);
const facesOf = (top) => faces[top] ?? [top];
/** Test fakes and builders: for *.test.ts (and integration/) only; tsconfig.build.json excludes the same list. */
const FAKES = ['client/fake.ts', 'proxy/fake-iptables.ts', 'kubelet/testing/', 'scheduler/testing.ts'];

function* tsFiles(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* tsFiles(p);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield p;
  }
}

// Besides the list, any *.testing.ts file is a fake (node-keys.testing.ts beside node-keys.ts).
const isFake = (rel) => rel.endsWith('.testing') || FAKES.some((f) => (f.endsWith('/') ? rel.startsWith(f) : rel === f || `${rel}.ts` === f));

const importRe = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g;
const problems = [];
for (const top of Object.keys(allowed)) {
  const dir = path.join(root, top);
  if (!fs.existsSync(dir)) continue;
  for (const file of tsFiles(dir)) {
    const from = path.relative(root, file);
    const product = top !== 'integration' && !from.endsWith('.test.ts');
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(importRe)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (!spec || !spec.startsWith('.')) continue;
      // "x/index.js" (a dynamic import) and "x/index" both mean the folder x.
      const rel = path
        .relative(root, path.resolve(path.dirname(file), spec))
        .split(path.sep)
        .join('/')
        .replace(/\.js$/, '')
        .replace(/\/index$/, '');
      const target = rel.split('/')[0];
      if (product && isFake(rel)) {
        problems.push(`${from}: imports ${spec} (a test fake: only tests may import it)`);
        continue;
      }
      if (target === top) continue;
      if (!allowed[top].includes(target)) {
        problems.push(`${from}: imports ${spec} (${top}/ may not import ${target}/)`);
        continue;
      }
      if (withIndex.has(target) && !facesOf(target).includes(rel) && top !== 'integration' && !(isFake(rel) && !product)) {
        const through = facesOf(target)
          .map((f) => `"${path.relative(path.dirname(from), f)}"`)
          .join(' or ');
        problems.push(`${from}: imports ${spec} (import ${target}/ through its index.ts: ${through})`);
      }
    }
  }
}
if (problems.length > 0) {
  console.error(`check-imports: ${problems.length} import(s) break the layering:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('check-imports: layering ok');
