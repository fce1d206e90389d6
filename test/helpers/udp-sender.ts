/**
 * Sends exactly N UDP datagrams to a port on loopback (127.0.0.1 or ::1) and prints how many were sent.
 * Run inside a test network namespace: `ip netns exec NS node udp-sender.js N FAMILY PORT SIZE`.
 */
import { createSocket } from 'node:dgram';

const [countArg = '1', familyArg = '4', portArg = '9', sizeArg = '16'] = process.argv.slice(2);
const count = Number(countArg);
const family = familyArg === '6' ? 6 : 4;
const port = Number(portArg);
const payload = Buffer.alloc(Number(sizeArg), 0x6b);
const sock = createSocket(family === 6 ? 'udp6' : 'udp4');
sock.on('error', () => undefined); // ICMP port unreachable errors on a connected socket are expected
const addr = family === 6 ? '::1' : '127.0.0.1';
let sent = 0;
function next(): void {
  if (sent >= count) {
    process.stdout.write(`${sent}\n`);
    sock.close();
    return;
  }
  sock.send(payload, port, addr, (err) => {
    if (err) {
      process.stderr.write(`send failed: ${err.message}\n`);
      process.exitCode = 1;
      process.stdout.write(`${sent}\n`);
      sock.close();
      return;
    }
    sent++;
    next();
  });
}
next();
