/** Fixture text for the fuzz tests (tests run from dist/test/unit/fuzz; fixtures stay in test/fixtures). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function fixtureText(path: string): string {
  return readFileSync(fixtureUrl(path), 'utf8');
}

export function fixtureBytes(path: string): Buffer {
  return readFileSync(fixtureUrl(path));
}

function fixtureUrl(path: string): string {
  return fileURLToPath(new URL(`../../../../test/fixtures/${path}`, import.meta.url));
}
