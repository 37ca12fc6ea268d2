// WWW-Authenticate challenges (RFC 7235) as registries send them:
//   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"
//   Basic realm="basic-realm"
// Pure parsing; the registry client decides what to do with them.

export interface AuthChallenge {
  /** Lower-cased scheme: "basic", "bearer", ... */
  scheme: string;
  /** Parameter names lower-cased; values unquoted and unescaped. */
  params: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

/** Parses one or more comma-separated challenges; unparseable tails are ignored. */
export function parseChallenges(header: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let s = header;
  let current: AuthChallenge | undefined;
  const skip = (): void => {
    s = s.replace(/^[\s,]+/, '');
  };
  skip();
  while (s.length > 0) {
    const tok = TOKEN.exec(s);
    if (!tok) break;
    const word = tok[0];
    const after = s.slice(word.length);
    const eq = /^\s*=\s*/.exec(after);
    if (eq && current) {
      // auth-param: name=value or name="quoted"
      s = after.slice(eq[0].length);
      let value: string;
      if (s.startsWith('"')) {
        let i = 1;
        value = '';
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        s = s.slice(i + 1);
      } else {
        const m = /^[^,\s]*/.exec(s);
        value = m ? m[0] : '';
        s = s.slice(value.length);
      }
      current.params[word.toLowerCase()] = value;
    } else {
      current = { scheme: word.toLowerCase(), params: {} };
      out.push(current);
      s = after;
    }
    skip();
  }
  return out;
}

/** The first challenge of a scheme we support, bearer preferred (as Docker). */
export function pickChallenge(challenges: AuthChallenge[]): AuthChallenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}
