import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runSymbolize } from '../../../src/commands/symbolize.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

const seedMap = 'ffffffff8024c920 t unix_stream_recvmsg\nffffffff8024cea1 t udp_v4_lookup_longway\nffffffff8044b360 t arp_rcv\nffffffff8044b487 t parp_redo\n';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-symcmd-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('seed example with --map: unix_stream_recvmsg and arp_rcv', async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, 'System.map'), seedMap);
    const out = capture();
    const err = capture();
    const code = await runSymbolize({ map: join(dir, 'System.map'), addresses: ['0xffffffff8024cd0f', 'ffffffff8044b472'], paths: { proc: join(dir, 'proc'), sys: join(dir, 'sys'), tracefs: null }, out: out.stream, err: err.stream });
    assert.equal(code, 0);
    assert.equal(out.text(), '0xffffffff8024cd0f unix_stream_recvmsg+0x3ef/0x581\n0xffffffff8044b472 arp_rcv+0x112/0x127\n');
    assert.equal(err.text(), '');
  });
});

test('bad and unknown addresses: "?" line, message on stderr, exit 1; others still resolved', async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, 'System.map'), seedMap);
    const out = capture();
    const err = capture();
    const code = await runSymbolize({ map: join(dir, 'System.map'), addresses: ['zz', '0x1000', '0xffffffff8044b472'], paths: { proc: '/nonexistent', sys: '/nonexistent', tracefs: null }, out: out.stream, err: err.stream });
    assert.equal(code, 1);
    assert.equal(out.text(), 'zz ?\n0x1000 ?\n0xffffffff8044b472 arp_rcv+0x112/0x127\n');
    assert.match(err.text(), /KDROP_E_BAD_ADDRESS: cannot parse address/);
    assert.match(err.text(), /0x1000 is not inside any text symbol of .*System\.map/);
  });
});

test('kallsyms from paths.proc, module suffix; restricted kallsyms -> exit 2 with the reason', async () => {
  await withDir(async (dir) => {
    const proc = join(dir, 'proc');
    await mkdir(join(proc, 'sys', 'kernel'), { recursive: true });
    await writeFile(join(proc, 'sys', 'kernel', 'kptr_restrict'), '1\n');
    await writeFile(join(proc, 'kallsyms'), 'ffffffff81000000 T _stext\nffffffffc0001000 t mod_rcv\t[mymod]\nffffffffc0001100 t mod_end\t[mymod]\n');
    const out = capture();
    const err = capture();
    const paths = { proc, sys: join(dir, 'sys'), tracefs: null };
    assert.equal(await runSymbolize({ map: undefined, addresses: ['0xffffffffc0001010'], paths, out: out.stream, err: err.stream }), 0);
    assert.equal(out.text(), '0xffffffffc0001010 mod_rcv+0x10/0x100 [mymod]\n');

    await writeFile(join(proc, 'kallsyms'), '0000000000000000 T _stext\n0000000000000000 T foo\n');
    const out2 = capture();
    const err2 = capture();
    assert.equal(await runSymbolize({ map: undefined, addresses: ['0xffffffff81000000'], paths, out: out2.stream, err: err2.stream }), 2);
    assert.equal(out2.text(), '');
    assert.match(err2.text(), /KDROP_E_KALLSYMS_RESTRICTED.*kptr_restrict=1.*CAP_SYSLOG/);

    const err3 = capture();
    assert.equal(await runSymbolize({ map: undefined, addresses: [], paths, out: capture().stream, err: err3.stream }), 2);
    assert.match(err3.text(), /no address given/);
  });
});
