import { createSocket } from 'node:dgram';

/**
 * Sends one datagram from a fresh socket (a new session for nginx) and resolves with the answer,
 * or with undefined when none comes within `waitMs` (UDP has no other way to say "nothing").
 */
export function udpRoundTrip(port: number, message: string, waitMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const done = (answer: string | undefined) => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), waitMs);
    socket.on('message', (data) => done(data.toString()));
    socket.on('error', () => done(undefined));
    socket.send(message, port, '127.0.0.1');
  });
}
