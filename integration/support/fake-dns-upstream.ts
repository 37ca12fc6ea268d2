// A fake upstream resolver for the cluster DNS tests: `node
// fake-dns-upstream.js ADDRESS PORT`, run inside a test's network namespace
// (never the host's). It answers A for upstream.example (192.0.2.99) and
// NXDOMAIN for every other name, over UDP and TCP, and prints "ready" once bound.

import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';

export const UPSTREAM_NAME = 'upstream.example';
export const UPSTREAM_ADDRESS = '192.0.2.99';

function answer(query: Buffer): Buffer {
  const q = dnsPacket.decode(query);
  const question = q.questions?.[0];
  const known = question?.name.toLowerCase() === UPSTREAM_NAME;
  return dnsPacket.encode({
    type: 'response',
    id: q.id,
    flags: dnsPacket.RECURSION_AVAILABLE | (known ? 0 : 3),
    questions: q.questions,
    answers: known && question?.type === 'A' ? [{ type: 'A', name: question.name, ttl: 60, data: UPSTREAM_ADDRESS }] : [],
  });
}

if (require.main === module) {
  const [address = '127.0.0.1', port = '53'] = process.argv.slice(2);
  const sock = dgram.createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    try {
      sock.send(answer(msg), rinfo.port, rinfo.address);
    } catch {
      // Not a DNS query: nothing to answer.
    }
  });
  const tcp = net.createServer((conn) => {
    let buf = Buffer.alloc(0);
    conn.on('error', () => undefined);
    conn.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const reply = answer(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
        const len = Buffer.alloc(2);
        len.writeUInt16BE(reply.length);
        conn.write(Buffer.concat([len, reply]));
      }
    });
  });
  sock.bind(Number(port), address, () => tcp.listen(Number(port), address, () => console.log('ready')));
}
