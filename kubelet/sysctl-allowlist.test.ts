import test from 'ava';
import type { Pod } from '../api/gen/tsk/v1/core';
import { admitSysctls, namespacedBy, newSysctlAllowlist, normalizeSysctlName, validateSysctl } from './sysctl-allowlist';

const pod = (sysctls: Array<[string, string]>, extra: { hostNetwork?: boolean; hostIPC?: boolean } = {}): Pod => ({
  metadata: { name: 'p' },
  spec: { ...extra, containers: [{ name: 'c' }], securityContext: { sysctls: sysctls.map(([name, value]) => ({ name, value })) } },
});

test('namespaces as Kubernetes assigns them', (t) => {
  t.is(namespacedBy('net.core.somaxconn'), 'net');
  t.is(namespacedBy('kernel.shm_rmid_forced'), 'ipc');
  t.is(namespacedBy('kernel.msgmax'), 'ipc');
  t.is(namespacedBy('kernel.sem'), 'ipc');
  t.is(namespacedBy('fs.mqueue.msg_max'), 'ipc');
  t.is(namespacedBy('kernel.panic'), undefined);
  t.is(namespacedBy('vm.swappiness'), undefined);
});

test('slash form is normalized to dot form', (t) => {
  t.is(normalizeSysctlName('net/ipv4/ip_local_port_range'), 'net.ipv4.ip_local_port_range');
  t.is(normalizeSysctlName('net/ipv4/conf/eth0.100/rp_filter'), 'net.ipv4.conf.eth0/100.rp_filter');
  t.is(normalizeSysctlName('net.ipv4.tcp_syncookies'), 'net.ipv4.tcp_syncookies');
});

test('the safe set is admitted by default, others are SysctlForbidden', (t) => {
  const list = newSysctlAllowlist([]);
  t.is(admitSysctls(list, pod([['net.ipv4.ip_unprivileged_port_start', '0']])), undefined);
  t.is(admitSysctls(list, pod([['net/ipv4/ping_group_range', '0 2147483647']])), undefined);
  t.is(admitSysctls(list, pod([])), undefined);
  t.is(admitSysctls(list, pod([['net.core.somaxconn', '1024']])), 'forbidden sysctl: "net.core.somaxconn" not allowlisted');
  t.is(admitSysctls(list, pod([['kernel.panic', '1']])), 'forbidden sysctl: "kernel.panic" not allowlisted');
});

test('--allowed-unsafe-sysctls names and prefix patterns', (t) => {
  const list = newSysctlAllowlist(['net.core.somaxconn', 'kernel.msg*']);
  t.is(validateSysctl(list, 'net.core.somaxconn', false, false), undefined);
  t.is(validateSysctl(list, 'kernel.msgmax', false, false), undefined);
  t.is(validateSysctl(list, 'net.core.rmem_max', false, false), '"net.core.rmem_max" not allowlisted');
});

test('host namespaces forbid their sysctls', (t) => {
  const list = newSysctlAllowlist([]);
  t.is(
    admitSysctls(list, pod([['kernel.shm_rmid_forced', '1']], { hostIPC: true })),
    'forbidden sysctl: "kernel.shm_rmid_forced" not allowed with host ipc enabled',
  );
  t.is(
    admitSysctls(list, pod([['net.ipv4.tcp_syncookies', '1']], { hostNetwork: true })),
    'forbidden sysctl: "net.ipv4.tcp_syncookies" not allowed with host net enabled',
  );
  t.is(admitSysctls(list, pod([['net.ipv4.tcp_syncookies', '1']], { hostIPC: true })), undefined);
});

test('patterns that are not namespaced or malformed are refused', (t) => {
  t.throws(() => newSysctlAllowlist(['kernel.panic']), { message: 'the sysctl "kernel.panic" is not known to be namespaced' });
  t.throws(() => newSysctlAllowlist(['vm.*']), { message: 'the sysctl "vm.*" is not known to be namespaced' });
  t.throws(() => newSysctlAllowlist(['net.*.x']), { message: /not a sysctl name/ });
});
