// The container image's kdrop: src/cli.ts and everything it imports, bundled and tree-shaken by esbuild
// into dist/bundle/: the entry kdrop.mjs (1 kB) and chunks/, one ES module per part that src/ loads with
// a dynamic import (the agent, the Kubernetes client, each OTLP exporter, ...), so a command parses only
// what it runs, as the compiled tree does. The image needs no node_modules at all.
//
//   npm run bundle [-- OUTDIR]            (the Dockerfile runs the same script)
//
// Measured here (`kdrop --version`, 4 runs): one single file of 4.9 MB took 0.53-0.70 s and 84 MB of RSS
// (every module parsed up front); the split bundle 0.09-0.18 s and 65 MB; the compiled tree with
// node_modules 0.13-0.21 s and 71 MB.
//
// Left out on purpose, so that no terminal-UI package ships in the agent image:
//   - src/top/app.ts (the interactive `kdrop top` view: ink + react) is replaced by a module whose
//     runInteractive fails with KDROP_E_CONFIG and says what works instead; `kdrop top` without a
//     terminal (plain text snapshots) and `kdrop top --agent URL` from the npm package still work;
//   - pino-pretty is loaded with createRequire only for a person at a terminal (src/log.ts), which esbuild
//     does not follow; src/log.ts falls back to JSON lines where it is absent.
// The bundle finds package.json and build/probe/kdrop-probe by walking up from its own path
// (src/package-root.ts), as dist/src/ does.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = process.argv[2] ?? join(root, 'dist', 'bundle');

const noInteractiveTop = {
  name: 'kdrop-no-interactive-top',
  setup(b) {
    b.onResolve({ filter: /\/top\/app\.js$/ }, () => ({ path: 'top-app', namespace: 'kdrop-absent' }));
    b.onLoad({ filter: /.*/, namespace: 'kdrop-absent' }, () => ({
      loader: 'js',
      contents: `export function runInteractive() {
  const err = new Error('the interactive kdrop top view (ink, react) is not in this build (the container image): run kdrop top without a terminal (-T in kubectl exec) for plain text snapshots, or kdrop top --agent URL from the npm package on a workstation [KDROP_E_CONFIG]');
  err.code = 'KDROP_E_CONFIG';
  throw err;
}`,
    }));
    // Nothing else may pull the terminal-UI packages in.
    b.onResolve({ filter: /^(ink|react|react\/.*|pino-pretty)$/ }, (args) => ({
      errors: [{ text: `${args.path} must not be in the bundle (imported by ${args.importer})` }],
    }));
  },
};

// Node's built-in modules through require(), not as ES modules. Importing a built-in as an ES module makes
// Node build its ES module facade, which reads every export, lazy getters included: `import ... from
// 'node:http'` reads http.WebSocket & co. and so loads undici, http2, zlib and tls; node:fs, node:util and
// node:process load more of the same kind. Measured on Node 24.21, one `import 'node:http'` alone: RSS 59 MB
// against 46 MB through require(). Here each `import` of a built-in (static or dynamic) becomes a module
// that require()s it and exports its data properties by name.
const builtinsThroughRequire = {
  name: 'kdrop-builtins-through-require',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_]+(\/[a-z_]+)?$/ }, (args) => {
      if ((args.kind !== 'import-statement' && args.kind !== 'dynamic-import') || !isBuiltin(args.path)) return undefined;
      const name = args.path.replace(/^node:/, '');
      // node:module gives the banner its createRequire; it has no lazy exports.
      if (name === 'module') return undefined;
      return { path: name, namespace: args.kind === 'import-statement' ? 'kdrop-builtin' : 'kdrop-builtin-dynamic' };
    });
    // A static import: a CommonJS module. esbuild's __toESM gives the importer getters over its exports,
    // read when used (lazy exports stay lazy, mutable ones stay live).
    b.onLoad({ filter: /.*/, namespace: 'kdrop-builtin' }, (args) => ({ loader: 'js', contents: `module.exports = require('node:${args.path}');` }));
    // import(): esbuild gives a dynamically imported CommonJS module only a default export, so here an ES
    // module exports the built-in's own data properties by name (read from the Node that bundles, the
    // version the image runs). Accessors, the lazy exports among them, are left out.
    b.onLoad({ filter: /.*/, namespace: 'kdrop-builtin-dynamic' }, (args) => {
      const names = Object.entries(Object.getOwnPropertyDescriptors(process.getBuiltinModule(`node:${args.path}`)))
        .filter(([k, d]) => d.enumerable && 'value' in d && k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k))
        .map(([k]) => k);
      return { loader: 'js', contents: `const m = require('node:${args.path}');\nexport default m;\nexport const { ${names.join(', ')} } = m;\n` };
    });
  },
};

// Packages built by rolldown (the OpenTelemetry gRPC exporter) load some dependencies at run time through
// their own createRequire (`__require("@grpc/grpc-js")`), which esbuild does not follow. In the bundle that
// loaded a second @grpc/grpc-js from node_modules beside the bundled one (whose credentials the bundled
// client then refused: "Channel credentials must be a ChannelCredentials object"), and none at all in the
// image, which has no node_modules. A literal require() is bundled: the same module as their imports.
const rolldownRequires = {
  name: 'kdrop-rolldown-require',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]@opentelemetry[\\/].*\.mjs$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('__require("')) return undefined;
      return { loader: 'js', contents: text.replace(/\b__require\("([^"]+)"\)/g, 'require("$1")') };
    });
  },
};

// Chunks are named by their hash: a new bundle must not sit beside the old one's chunks.
rmSync(join(outdir, 'chunks'), { recursive: true, force: true });
rmSync(join(outdir, 'kdrop.mjs'), { force: true });

const result = await build({
  entryPoints: [join(root, 'src', 'cli.ts')],
  outdir,
  splitting: true,
  entryNames: 'kdrop',
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  // CommonJS dependencies call require() for Node built-ins: give the ES module bundle a require.
  banner: { js: "import { createRequire as __kdropRequire } from 'node:module'; const require = __kdropRequire(import.meta.url);" },
  // Optional native accelerators of ws: absent is the normal case (ws checks with try/require).
  external: ['bufferutil', 'utf-8-validate'],
  plugins: [noInteractiveTop, builtinsThroughRequire, rolldownRequires],
});
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
process.stderr.write(`bundle: ${outdir} (${(bytes / 2 ** 20).toFixed(2)} MiB, ${Object.keys(result.metafile.inputs).length} input files)\n`);
