import test from 'ava';
import { parseNetDev } from './net-dev';

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1200      12    0    0    0     0          0         0     1200      12    0    0    0     0       0          0
  eth0: 5242880    4100    2    1    0     0          0         0   102400     900    3    4    0     0       0          0
vethabc:     10       1    0    0    0     0          0         0       20       2    0    0    0     0       0          0
`;

test('parseNetDev: the pod interfaces with receive and transmit counters; lo and veth left out as cAdvisor does', (t) => {
  t.deepEqual(parseNetDev(NET_DEV), [
    { name: 'eth0', rxBytes: 5242880, rxPackets: 4100, rxErrors: 2, rxDropped: 1, txBytes: 102400, txPackets: 900, txErrors: 3, txDropped: 4 },
  ]);
});

test('parseNetDev: headers, blank and malformed lines give nothing', (t) => {
  t.deepEqual(parseNetDev('Inter-| Receive\n face |bytes\n\neth0: 1 2 3\n'), []);
});
