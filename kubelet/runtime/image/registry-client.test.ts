import test from 'ava';
import { isLoopbackHost, RegistryClient, registryScheme } from './registry-client';

test('plain HTTP only for loopback and insecure registries', (t) => {
  t.is(registryScheme('localhost:5000'), 'http');
  t.is(registryScheme('127.0.0.1:5000'), 'http');
  t.is(registryScheme('127.1.2.3'), 'http');
  t.is(registryScheme('[::1]:5000'), 'http');
  t.is(registryScheme('docker.io'), 'https');
  t.is(registryScheme('reg.example.com:5000'), 'https');
  t.is(registryScheme('reg.example.com:5000', ['reg.example.com:5000']), 'http');
  t.is(registryScheme('reg.example.com:5000', ['reg.example.com']), 'http');
  t.is(registryScheme('reg.example.com:5000', ['other.example.com']), 'https');
  t.false(isLoopbackHost('localhost.example.com'));
});

test('docker.io is served from registry-1.docker.io', (t) => {
  t.is(new RegistryClient('docker.io').base, 'https://registry-1.docker.io');
  t.is(new RegistryClient('127.0.0.1:5000').base, 'http://127.0.0.1:5000');
});
