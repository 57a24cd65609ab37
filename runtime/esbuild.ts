// How the runtime is bundled for Azure: one CommonJS file for the Node 22 worker. The deployment
// (infra/bundle.ts) and the benchmark (tools/bench.ts) both build with exactly these options.
import type { BuildOptions } from 'esbuild';

/**
 * Some Azure SDK packages ship ESM that calls `createRequire(import.meta.url)` at load time;
 * in a CommonJS bundle `import.meta` is empty, so that would throw as soon as the app loads.
 * The bundle defines the URL from `__filename` instead.
 */
const IMPORT_META_URL = '__aciFleetImportMetaUrl';

export function runtimeBuildOptions(entry: string): BuildOptions {
  return {
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    // Fully minified to stay well under the 2 MB budget, but function and class names are kept,
    // so stack traces in Application Insights still say where they come from.
    minify: true,
    keepNames: true,
    legalComments: 'none',
    // Provided by the Functions Node.js worker at run time.
    external: ['@azure/functions-core'],
    // Lets the runtime import its server page as a string.
    loader: { '.html': 'text' },
    define: { 'import.meta.url': IMPORT_META_URL },
    banner: { js: `var ${IMPORT_META_URL}=require("node:url").pathToFileURL(__filename).href;` },
    logLevel: 'silent',
  };
}
