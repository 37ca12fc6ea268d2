import test from 'ava';
import { servingSans } from './serving-names';

test('--tls-san, the host name, its addresses and the listen hosts; IPs and names apart', (t) => {
  const sans = servingSans(['api.example.com', '203.0.113.7'], '0.0.0.0:6443,10.0.0.5:6443,unix:/run/tsk.sock,[fd00::1]:6443', {
    hostname: 'Node-1',
    addresses: ['127.0.0.1', '10.0.0.5', 'fe80::1'],
  });
  t.deepEqual(sans, { dns: ['api.example.com', 'node-1'], ips: ['203.0.113.7', '127.0.0.1', '10.0.0.5', 'fe80::1', 'fd00::1'] });
});
