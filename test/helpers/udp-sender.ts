/**
 * Sends exactly N UDP datagrams to a port on loopback (127.0.0.1 or ::1) and prints how many were sent.
 * Run inside a test network namespace: `ip netns exec NS node udp-sender.js N FAMILY PORT SIZE`.
 * FAMILY `alt`: N to each of 127.0.0.1 and ::1, alternating datagram by datagram (prints N once all went).
 */
import { createSocket } from 'node:dgram';

const [countArg = '1', familyArg = '4', portArg = '9', sizeArg = '16'] = process.argv.slice(2);
const count = Number(countArg);
const families: readonly (4 | 6)[] = familyArg === 'alt' ? [4, 6] : [familyArg === '6' ? 6 : 4];
const port = Number(portArg);
const payload = Buffer.alloc(Number(sizeArg), 0x6b);
const socks = families.map((f) => {
  const sock = createSocket(f === 6 ? 'udp6' : 'udp4');
  sock.on('error', () => undefined); // ICMP port unreachable errors on a connected socket are expected
  return { sock, addr: f === 6 ? '::1' : '127.0.0.1' };
});
let sent = 0;
function done(): void {
  process.stdout.write(`${sent}\n`);
  for (const s of socks) s.sock.close();
}
/** Sends datagram `i` of the current round (one per family), then the next. */
function next(i = 0): void {
  if (sent >= count) {
    done();
    return;
  }
  const s = socks[i]!;
  s.sock.send(payload, port, s.addr, (err) => {
    if (err) {
      process.stderr.write(`send failed: ${err.message}\n`);
      process.exitCode = 1;
      done();
      return;
    }
    if (i + 1 < socks.length) {
      next(i + 1);
      return;
    }
    sent++;
    next();
  });
}
next();
