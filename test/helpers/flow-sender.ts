/**
 * Sends drops with a known flow inside a test network namespace and prints how many were sent:
 *   ip netns exec NS node flow-sender.js udp FAMILY SRC_PORT DST_PORT COUNT SIZE   datagrams from SRC_PORT
 *   ip netns exec NS node flow-sender.js tcp FAMILY SRC_PORT DST_PORT              one SYN to a closed port
 * Loopback only (127.0.0.1 / ::1).
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

const [proto = 'udp', familyArg = '4', srcArg = '40001', dstArg = '9', countArg = '1', sizeArg = '16'] = process.argv.slice(2);
const family = familyArg === '6' ? 6 : 4;
const addr = family === 6 ? '::1' : '127.0.0.1';

if (proto === 'tcp') {
  const sock = connect({ host: addr, port: Number(dstArg), localAddress: addr, localPort: Number(srcArg), family });
  sock.on('error', () => {
    process.stdout.write('1\n'); // refused: the SYN reached the closed port and was dropped there
  });
  sock.on('connect', () => {
    process.stdout.write('0\n');
    sock.destroy();
  });
} else {
  const count = Number(countArg);
  const payload = Buffer.alloc(Number(sizeArg), 0x6b);
  const sock = createSocket(family === 6 ? 'udp6' : 'udp4');
  sock.on('error', () => undefined);
  let sent = 0;
  sock.bind(Number(srcArg), addr, () => {
    const next = (): void => {
      if (sent >= count) {
        process.stdout.write(`${sent}\n`);
        sock.close();
        return;
      }
      sock.send(payload, Number(dstArg), addr, (err) => {
        if (err) {
          process.stdout.write(`${sent}\n`);
          sock.close();
          return;
        }
        sent++;
        next();
      });
    };
    next();
  });
}
