/** `npm run docs:reasons`: writes docs/reasons.md from the reason catalog (src/enrich/reason-catalog.ts). */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderReasonsDoc } from '../src/enrich/reason-docs.js';

const target = fileURLToPath(new URL('../../docs/reasons.md', import.meta.url));
await writeFile(target, renderReasonsDoc());
process.stdout.write(`wrote ${target}\n`);
