import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostPathsFrom } from '../../../src/config/common.js';

test('--nic-sys / KDROP_NIC_SYS_PATH: the flag wins over the env; unset or empty leaves the NICs on --sys', () => {
  assert.equal(hostPathsFrom({}, {}).nicSys, undefined);
  assert.equal(hostPathsFrom({}, { KDROP_NIC_SYS_PATH: '' }).nicSys, undefined);
  assert.equal(hostPathsFrom({}, { KDROP_NIC_SYS_PATH: '/host/sys' }).nicSys, '/host/sys');
  assert.equal(hostPathsFrom({ nicSys: '/mnt/sys' }, { KDROP_NIC_SYS_PATH: '/host/sys' }).nicSys, '/mnt/sys');
  assert.equal(hostPathsFrom({ sys: '/s' }, {}).sys, '/s');
});
