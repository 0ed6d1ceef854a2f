// Builds the console into ../internal/webconsole/dist, which the Go binary
// embeds: one JS bundle, one CSS file (names carrying a content hash), and
// index.html pointing at them. `node build.mjs --dev` skips minifying.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'internal', 'webconsole', 'dist');
const dev = process.argv.includes('--dev');

// Keep dist/README.md (committed); replace everything else.
mkdirSync(out, { recursive: true });
for (const f of readdirSync(out)) if (f !== 'README.md') rmSync(join(out, f), { recursive: true, force: true });

const result = await build({
  entryPoints: { app: join(here, 'src', 'main.js'), style: join(here, 'src', 'style.entry.css') },
  bundle: true,
  format: 'esm',
  target: ['chrome120', 'firefox120', 'safari17'],
  minify: !dev,
  sourcemap: false,
  legalComments: 'linked',
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  splitting: true,
  outdir: join(out, 'assets'),
  metafile: true,
  logLevel: 'warning',
});

let js = '';
let css = '';
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  if (meta.entryPoint === 'src/main.js' && file.endsWith('.js')) js = basename(file);
  if (meta.entryPoint === 'src/style.entry.css' && file.endsWith('.css')) css = basename(file);
}
if (!js || !css) throw new Error('the build made no JS or CSS entry');
const html = readFileSync(join(here, 'src', 'index.html'), 'utf8').replace('%JS%', js).replace('%CSS%', css);
writeFileSync(join(out, 'index.html'), html);

let raw = 0;
let gz = 0;
for (const f of readdirSync(join(out, 'assets'))) {
  const b = readFileSync(join(out, 'assets', f));
  raw += b.length;
  gz += gzipSync(b, { level: 9 }).length;
}
console.log(`web console: ${js}, ${css}: ${(raw / 1024).toFixed(0)} KiB, ${(gz / 1024).toFixed(0)} KiB gzip`);
