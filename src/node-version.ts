/**
 * kdrop needs Node 24 (package.json engines). An older Node fails deep inside a dependency (execa on
 * Node 20: "TEXT_ENCODINGS.union is not a function"); this check runs first (cli.ts imports it before
 * anything else) and says which Node is needed and which was found. Plain code only: it must parse and
 * run on any Node that can load an ES module.
 */
import { ErrorCodes } from './errors.js';

const REQUIRED_MAJOR = 24;

/** Null when `version` (process.version, e.g. "v24.21.0") is supported, else the message to print. */
export function nodeVersionProblem(version: string): string | null {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
  if (major === REQUIRED_MAJOR) return null;
  return (
    `kdrop needs Node ${REQUIRED_MAJOR} (LTS); found Node ${version} at ${process.execPath} [${ErrorCodes.NODE_VERSION}]\n` +
    `  run it through the npm scripts of the repository (npm start, npm run kdrop -- ARGS), which use the Node ${REQUIRED_MAJOR}\n` +
    `  that \`npm ci\` installs in node_modules/.bin, or install Node ${REQUIRED_MAJOR} and run kdrop with it\n`
  );
}

const problem = nodeVersionProblem(process.version);
if (problem !== null) {
  process.stderr.write(problem);
  process.exit(2);
}
