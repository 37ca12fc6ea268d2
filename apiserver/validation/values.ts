// Checks of single values (ports, IPs, CIDRs, environment variable names),
// returning Kubernetes' messages from k8s.io/apimachinery/pkg/util/validation;
// an empty list means valid. Field paths are added by the callers.

import { ENV_VAR_NAME_FMT, isValidEnvVarName } from '../../api/env-names';
import { isIP } from 'node:net';
import { regexError } from '../../api/labels';

export const NONNEGATIVE_MSG = 'must be greater than or equal to 0';
export const IMMUTABLE_MSG = 'field is immutable';

export function inclusiveRangeError(lo: number, hi: number): string {
  return `must be between ${lo} and ${hi}, inclusive`;
}

/** A port number: 1-65535. */
export function isValidPortNum(port: number): string[] {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? [] : [inclusiveRangeError(1, 65535)];
}

/** A named port (IANA_SVC_NAME, RFC 6335). */
export function isValidPortName(name: string): string[] {
  const errs: string[] = [];
  if (name.length > 15) errs.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(name)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(name)) errs.push('must contain at least one letter (a-z)');
  if (name.startsWith('-') || name.endsWith('-')) errs.push('must not begin or end with a hyphen');
  if (name.includes('--')) errs.push('must not contain consecutive hyphens');
  return errs;
}

/** 4 or 6 when s is an IP address written as Kubernetes accepts it, else 0. */
export function ipFamily(s: string): 0 | 4 | 6 {
  // Zones ("fe80::1%eth0") are not addresses in the API.
  if (s.includes('%')) return 0;
  return isIP(s) as 0 | 4 | 6;
}

export function isValidIP(s: string): string[] {
  return ipFamily(s) === 0 ? ['must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'] : [];
}

/** An IP prefix in CIDR notation ("10.244.0.0/24"). */
export function isValidCIDR(s: string): string[] {
  const msg = ['must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'];
  const slash = s.indexOf('/');
  if (slash < 0) return msg;
  const family = ipFamily(s.slice(0, slash));
  const bits = s.slice(slash + 1);
  if (family === 0 || !/^(0|[1-9][0-9]*)$/.test(bits)) return msg;
  return Number(bits) <= (family === 4 ? 32 : 128) ? [] : msg;
}

function ipv4Octets(s: string): number[] {
  return s.split('.').map(Number);
}

/**
 * Addresses an endpoint may not have: unspecified, loopback, link-local and
 * link-local multicast (Kubernetes' ValidateNonSpecialIP).
 */
export function nonSpecialIP(s: string): string[] {
  const family = ipFamily(s);
  if (family === 4) {
    const [a = 0, b = 0, c = 0] = ipv4Octets(s);
    if (s === '0.0.0.0') return ['may not be unspecified (0.0.0.0)'];
    if (a === 127) return ['may not be in the loopback range (127.0.0.0/8, ::1/128)'];
    if (a === 169 && b === 254) return ['may not be in the link-local range (169.254.0.0/16, fe80::/10)'];
    if (a === 224 && b === 0 && c === 0) return ['may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'];
  } else if (family === 6) {
    const lower = s.toLowerCase();
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (mapped) return nonSpecialIP(mapped[1]!);
    if (/^(0*:)*:?0*$/.test(lower) || lower === '::') return ['may not be unspecified (::)'];
    if (/^(0*:)*:?0*1$/.test(lower)) return ['may not be in the loopback range (127.0.0.0/8, ::1/128)'];
    if (/^fe[89ab][0-9a-f]?:/.test(lower)) return ['may not be in the link-local range (169.254.0.0/16, fe80::/10)'];
    if (/^ff02:/.test(lower)) return ['may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'];
  }
  return [];
}

/** An environment variable name (Kubernetes' IsEnvVarName). */
export function isEnvVarName(name: string): string[] {
  const errs: string[] = [];
  if (!isValidEnvVarName(name)) {
    errs.push(
      regexError(
        "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit",
        ENV_VAR_NAME_FMT,
        'my.env-name',
        'MY_ENV.NAME',
        'MyEnvName1',
      ),
    );
  }
  if (name === '.') errs.push("must not be '.'");
  else if (name === '..') errs.push("must not be '..'");
  else if (name.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

/** An HTTP header name. */
export function isHTTPHeaderName(name: string): string[] {
  return /^[-A-Za-z0-9]+$/.test(name)
    ? []
    : [regexError("a valid HTTP header must consist of alphanumeric characters or '-'", '[-A-Za-z0-9]+', 'X-Header-Name')];
}

/** Whether a path has a ".." element. */
export function hasBacksteps(p: string): boolean {
  return p.split('/').includes('..');
}
