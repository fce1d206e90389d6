import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { nodeVersionProblem } from '../../src/node-version.js';
import { cliPath } from '../helpers/cli.js';

test('Node 24 is accepted; other majors get a message naming both versions and the error code', () => {
  assert.equal(nodeVersionProblem('v24.21.0'), null);
  for (const v of ['v20.20.2', 'v22.1.0', 'v25.0.0', 'garbage']) {
    const p = nodeVersionProblem(v);
    assert.ok(p !== null, v);
    assert.match(p, /needs Node 24/);
    assert.ok(p.includes(v), `names the found version ${v}`);
    assert.match(p, /KDROP_E_NODE_VERSION/);
  }
});

const systemNode = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => existsSync(p) && !spawnSync(p, ['--version'], { encoding: 'utf8' }).stdout.startsWith('v24.'));
test('the built CLI started with an older system Node exits 2 and says which Node it needs', { skip: systemNode === undefined ? 'no non-24 Node on this host (/usr/bin/node, /usr/local/bin/node)' : false }, () => {
  const r = spawnSync(systemNode!, [cliPath, 'watch', '--count', '1'], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /kdrop needs Node 24 \(LTS\); found Node v\d+/);
  assert.doesNotMatch(r.stderr, /TEXT_ENCODINGS/);
});
