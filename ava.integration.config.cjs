// Integration tests: real etcd, real namespaces and cgroups. Run as root.
module.exports = {
  files: ['dist/integration/**/*.test.js'],
  timeout: '5m',
  concurrency: 2,
  workerThreads: false,
  serial: false,
};
