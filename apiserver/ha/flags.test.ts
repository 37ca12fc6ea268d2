import test from 'ava';
import { defaultAdvertiseAddress, parseHaFlags, type HaFlagValues } from './flags';
import { newMemberName } from './plan';
import { joinServerRequestProblem } from '../bootstrap/service';

const none: HaFlagValues = {
  clusterInit: false,
  server: undefined,
  token: undefined,
  leave: false,
  advertiseAddress: undefined,
  externalEtcd: false,
  clusterReset: false,
};
const TOKEN = `K10${'a'.repeat(64)}::abcdef.0123456789abcdef`;

test('parseHaFlags: the accepted combinations', (t) => {
  t.deepEqual(parseHaFlags(none), { clusterInit: false, server: undefined, token: undefined, leave: false, advertiseAddress: undefined });
  t.true(parseHaFlags({ ...none, clusterInit: true, advertiseAddress: '10.0.0.1' }).clusterInit);
  t.is(parseHaFlags({ ...none, server: 'https://10.0.0.1:6443', token: TOKEN }).server, 'https://10.0.0.1:6443');
  t.true(parseHaFlags({ ...none, leave: true }).leave);
});

test('parseHaFlags: each bad combination is one line naming the flag', (t) => {
  const bad = (v: Partial<HaFlagValues>, re: RegExp): void => {
    t.throws(() => parseHaFlags({ ...none, ...v }), { message: re });
  };
  bad({ server: 'http://10.0.0.1:6443', token: TOKEN }, /^--server: "http:\/\/10.0.0.1:6443" is not a URL such as https:/);
  bad({ server: 'https://10.0.0.1:6443' }, /^--server needs --token/);
  bad({ token: TOKEN }, /^--token needs --server/);
  bad({ clusterInit: true, server: 'https://a:6443', token: TOKEN }, /^--cluster-init starts a new cluster; --server joins one/);
  bad({ clusterInit: true, externalEtcd: true }, /^--cluster-init clusters the embedded etcd/);
  bad({ leave: true, externalEtcd: true }, /^--leave clusters the embedded etcd/);
  bad({ leave: true, clusterReset: true }, /^--leave takes no/);
  bad({ advertiseAddress: 'host.example' }, /^--advertise-address: "host.example" is not an IP address/);
});

test('defaultAdvertiseAddress: the first non-loopback IPv4 address', (t) => {
  t.is(defaultAdvertiseAddress(['127.0.0.1', '::1', 'fe80::1', '10.0.0.5', '10.0.0.6']), '10.0.0.5');
  t.is(defaultAdvertiseAddress(['127.0.0.1', '::1']), undefined);
});

test('newMemberName: the host name made an etcd name, with a suffix', (t) => {
  t.is(newMemberName('VM_1', 'deadbeef'), 'vm-1-deadbeef');
  t.is(newMemberName('--', '00000000'), 'server-00000000');
  t.regex(newMemberName('vm'), /^vm-[0-9a-f]{8}$/);
});

test('joinServerRequestProblem: the name and the peer URL a joiner sends', (t) => {
  t.is(joinServerRequestProblem('vm-1-deadbeef', 'https://10.0.0.5:2380'), undefined);
  t.is(joinServerRequestProblem('VM 1', 'https://10.0.0.5:2380'), 'name: "VM 1" must be lower-case letters, digits, "." and "-" (an etcd member name)');
  t.is(joinServerRequestProblem('vm', 'http://10.0.0.5:2380'), 'peerUrl: "http://10.0.0.5:2380" must be https://IP:PORT');
});
