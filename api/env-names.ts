// Kubernetes' IsEnvVarName pattern, for the API server's validation of env
// names and the kubelet's skipping of envFrom keys that are not names.

export const ENV_VAR_NAME_FMT = '[-._a-zA-Z][-._a-zA-Z0-9]*';

const envVarNameRe = new RegExp(`^${ENV_VAR_NAME_FMT}$`);

export function isValidEnvVarName(name: string): boolean {
  return envVarNameRe.test(name);
}
