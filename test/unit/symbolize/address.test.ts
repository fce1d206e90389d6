import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { parseAddress } from '../../../src/symbolize/address.js';

test('parseAddress accepts 0x-hex and bare hex', () => {
  assert.equal(parseAddress('0xffffffff8024cd0f'), 0xffffffff8024cd0fn);
  assert.equal(parseAddress('0XFFFFFFFF8024CD0F'), 0xffffffff8024cd0fn);
  assert.equal(parseAddress(' ffffffff8044b472 '), 0xffffffff8044b472n);
  assert.equal(parseAddress('0x10'), 16n);
});

test('parseAddress rejects what is not a 64-bit hex address', () => {
  for (const bad of ['', '0x', 'zz', 'ffffffff8024cd0g', '0x1ffffffff8024cd0f', '-1', '__udp4_lib_rcv+0x10', '0x 12']) {
    assert.throws(() => parseAddress(bad), (err: unknown) => {
      assert.ok(isKdropError(err, ErrorCodes.BAD_ADDRESS), `${bad}: ${String(err)}`);
      assert.match(err.message, /expected a hexadecimal kernel address/);
      return true;
    });
  }
});
