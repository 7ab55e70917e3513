// A stand-in game server for the end-to-end test: answers every UDP datagram on 127.0.0.1:<port>
// with "<name>:<datagram>", so the test can tell which server answered. Exits on SIGTERM. With
// UDP_ECHO_LOG=1 it also prints "<name> got <datagram>" for every datagram it receives, so the test
// can tell which server was sent what (including datagrams whose answer got lost).
//   node test/e2e/udp-echo.mjs <port> <name>
import { createSocket } from 'node:dgram';

const port = Number(process.argv[2]);
const name = process.argv[3] ?? `echo-${port}`;
const socket = createSocket('udp4');
const log = process.env.UDP_ECHO_LOG === '1';
socket.on('message', (message, from) => {
  if (log) process.stdout.write(`${name} got ${message}\n`);
  socket.send(`${name}:${message}`, from.port, from.address);
});
socket.bind(port, '127.0.0.1', () => process.stdout.write(`${name} listening on 127.0.0.1:${port}\n`));
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    socket.close();
    process.exit(0);
  });
}
