// Kubernetes' IsConfigMapKey: a data key of a ConfigMap or Secret becomes a
// file name in configMap and secret volumes, so it must be a safe one. Shared
// by the API server's validation and tsctl's create, which checks keys before
// sending anything (as kubectl does).

const KEY_RE = /^[-._a-zA-Z0-9]+$/;
const KEY_MAX_LENGTH = 253;

/** The problems with a data key, [] when it is a valid file name. */
export function configKeyErrors(key: string): string[] {
  const errs: string[] = [];
  if (key.length > KEY_MAX_LENGTH) errs.push(`must be no more than ${KEY_MAX_LENGTH} characters`);
  if (!KEY_RE.test(key))
    errs.push(
      "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    );
  if (key === '.') errs.push("must not be '.'");
  else if (key === '..') errs.push("must not be '..'");
  else if (key.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}
