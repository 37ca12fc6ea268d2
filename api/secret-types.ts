// The Secret types and keys more than one component reads: the API server
// validates them, the kubelet pulls with them, tsctl creates them.

export const SECRET_TYPE_OPAQUE = 'Opaque';
export const SECRET_TYPE_DOCKER_CONFIG_JSON = 'kubernetes.io/dockerconfigjson';
/** The key of a kubernetes.io/dockerconfigjson Secret that holds the ~/.docker/config.json. */
export const DOCKER_CONFIG_JSON_KEY = '.dockerconfigjson';
