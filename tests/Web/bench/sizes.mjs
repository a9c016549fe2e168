// Gzipped JavaScript per entry of the built app (src/Web/dist), from Vite's manifest: the entry chunk plus every chunk
// it imports statically. Usage: node tests/Web/bench/sizes.mjs  (after npm run build in src/Web)
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const dist = resolve(import.meta.dirname, '../../../src/Web/dist');
const manifest = JSON.parse(readFileSync(join(dist, '.vite/manifest.json'), 'utf8'));
const out = {};
for (const [key, chunk] of Object.entries(manifest)) {
  if (!chunk.isEntry) continue;
  const seen = new Set();
  const visit = (k) => {
    if (seen.has(k)) return;
    seen.add(k);
    for (const i of manifest[k].imports ?? []) visit(i);
  };
  visit(key);
  let raw = 0, gz = 0, css = 0;
  const files = [];
  for (const k of seen) {
    const file = manifest[k].file;
    const bytes = readFileSync(join(dist, file));
    raw += bytes.length;
    gz += gzipSync(bytes, { level: 9 }).length;
    files.push(file);
    for (const c of manifest[k].css ?? []) css += gzipSync(readFileSync(join(dist, c)), { level: 9 }).length;
  }
  out[key] = { js_bytes: raw, js_gzip_bytes: gz, css_gzip_bytes: css, files };
}
console.log(JSON.stringify(out, null, 2));
