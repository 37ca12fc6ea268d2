// Unit tests: pure logic, beside the code they test. Fast, no root, no network.
module.exports = {
  files: ['dist/**/*.test.js', '!dist/integration/**'],
  timeout: '60s',
  workerThreads: false,
};
