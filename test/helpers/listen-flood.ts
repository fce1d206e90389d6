/**
 * Run inside a test netns, two roles:
 * - `listen PORT`: listens on PORT with backlog 1 and never accepts (the event loop is blocked, so libuv
 *   never calls accept()); prints `ready` once listening, and lives until killed.
 * - `flood PORT N HOLD_MS`: completes 2 connections (they fill the accept queue: backlog 1 holds 2), then
 *   starts N more connects (their SYNs, and retransmits, are refused: ListenOverflows), holds all sockets
 *   HOLD_MS, and exits printing how many connected.
 * - `ctfill PORT L M HOLD_MS`: listens (and accepts) on PORT, completes L connections to it (each an
 *   assured conntrack entry, which early_drop cannot evict), prints `filled`, then starts M more
 *   connects (refused by a full conntrack table), holds everything HOLD_MS and exits printing how many
 *   of the M connected.
 */
import { createServer, connect, type Socket } from 'node:net';
import { writeSync } from 'node:fs';

const [role, portArg = '0', nArg = '0', holdArg = '0'] = process.argv.slice(2);
const port = Number(portArg);

if (role === 'listen') {
  const server = createServer();
  // With a port only, Node binds and listens synchronously (no address lookup).
  server.listen(port, undefined, 1);
  writeSync(1, 'ready\n');
  // Block the event loop for good: accept() is never called.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
} else if (role === 'flood') {
  const sockets: Socket[] = [];
  const open = (): Promise<boolean> =>
    new Promise((resolve) => {
      const s = connect({ port, host: '127.0.0.1' });
      s.on('error', () => resolve(false));
      s.on('connect', () => resolve(true));
      sockets.push(s);
    });
  let connected = 0;
  for (let i = 0; i < 2; i++) if (await open()) connected++;
  for (let i = 0; i < Number(nArg); i++) void open();
  await new Promise((r) => setTimeout(r, Number(holdArg)));
  writeSync(1, `${connected}\n`);
  for (const s of sockets) s.destroy();
  process.exit(0);
} else if (role === 'ctfill') {
  const server = createServer((s) => s.on('error', () => undefined));
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', 1024, r));
  const sockets: Socket[] = [];
  const open = (): Promise<boolean> =>
    new Promise((resolve) => {
      const s = connect({ port, host: '127.0.0.1' });
      s.on('error', () => resolve(false));
      s.on('connect', () => resolve(true));
      sockets.push(s);
    });
  const filled = await Promise.all(Array.from({ length: Number(nArg) }, open));
  // Let the last handshake ACKs pass conntrack (ESTABLISHED + ASSURED) before the table is full.
  await new Promise((r) => setTimeout(r, 200));
  writeSync(1, `filled ${filled.filter(Boolean).length}\n`);
  let more = 0;
  for (let i = 0; i < Number(process.argv[5] ?? '0'); i++) void open().then((ok) => ok && more++);
  await new Promise((r) => setTimeout(r, Number(process.argv[6] ?? '0')));
  writeSync(1, `${more}\n`);
  for (const s of sockets) s.destroy();
  process.exit(0);
}
