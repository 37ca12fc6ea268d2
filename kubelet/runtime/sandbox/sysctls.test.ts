import test from 'ava';
import { sysctlsFile, sysctlPath } from './sysctls';

test('dot and slash forms map to the same /proc/sys path', (t) => {
  t.is(sysctlPath('net.ipv4.ip_unprivileged_port_start'), 'net/ipv4/ip_unprivileged_port_start');
  t.is(sysctlPath('net/ipv4/ip_unprivileged_port_start'), 'net/ipv4/ip_unprivileged_port_start');
  // Slash form keeps the dot of an interface name.
  t.is(sysctlPath('net/ipv4/conf/eth0.100/rp_filter'), 'net/ipv4/conf/eth0.100/rp_filter');
});

test('names that would leave /proc/sys are refused', (t) => {
  for (const bad of ['', 'net..ipv4', 'net/../../etc/passwd', '../x', 'net.ipv4 x', 'kernel.shm*']) {
    t.throws(() => sysctlPath(bad), { message: /is not a valid sysctl name/ }, bad);
  }
});

test('the file has one line each, values with spaces kept', (t) => {
  t.is(
    sysctlsFile({ 'net.ipv4.ip_local_port_range': '1024 65000', 'kernel.shm_rmid_forced': '1' }),
    'net/ipv4/ip_local_port_range 1024 65000\nkernel/shm_rmid_forced 1\n',
  );
  t.throws(() => sysctlsFile({ 'kernel.shm_rmid_forced': '1\n' }), { message: /kernel.shm_rmid_forced/ });
  t.throws(() => sysctlsFile({ 'kernel.shm_rmid_forced': '' }), { message: /empty/ });
});
