import test from 'ava';
import type { Pod } from '../../api/gen/tsk/v1/core';
import { assertCauses, type Expected, valid } from './fixtures';
import { validate } from './index';

test('the fixture pod is valid', (t) => {
  assertCauses(t, validate('Pod', valid('Pod')), []);
});

const c0 = 'spec.containers[0]';
const c1 = 'spec.containers[1]';

// [name, mutation of a valid pod, expected causes]
const CASES: Array<[string, (p: Pod) => void, Expected[]]> = [
  ['no containers', (p) => (p.spec!.containers = []), [['spec.containers', 'FieldValueRequired', 'Required value']]],
  ['container name missing', (p) => (p.spec!.containers![0]!.name = ''), [[`${c0}.name`, 'FieldValueRequired', 'Required value']]],
  [
    'container name not a DNS label',
    (p) => (p.spec!.containers![0]!.name = 'Web_1'),
    [[`${c0}.name`, 'FieldValueInvalid', 'Invalid value: "Web_1": a lowercase RFC 1123 label must consist of']],
  ],
  ['duplicate container names', (p) => (p.spec!.containers![1]!.name = 'web'), [[`${c1}.name`, 'FieldValueDuplicate', 'Duplicate value: "web"']]],
  [
    'container named like an init container',
    (p) => (p.spec!.containers![1]!.name = 'init'),
    [[`${c1}.name`, 'FieldValueDuplicate', 'Duplicate value: "init"']],
  ],
  ['image missing', (p) => (p.spec!.containers![0]!.image = ''), [[`${c0}.image`, 'FieldValueRequired', 'Required value']]],
  ['init image missing', (p) => (p.spec!.initContainers![0]!.image = undefined), [['spec.initContainers[0].image', 'FieldValueRequired', 'Required value']]],
  [
    'image with whitespace',
    (p) => (p.spec!.containers![0]!.image = ' nginx'),
    [[`${c0}.image`, 'FieldValueInvalid', 'must not have leading or trailing whitespace']],
  ],
  [
    'container port 0',
    (p) => (p.spec!.containers![0]!.ports![0]!.containerPort = 0),
    [[`${c0}.ports[0].containerPort`, 'FieldValueRequired', 'Required value']],
  ],
  [
    'container port too big',
    (p) => (p.spec!.containers![1]!.ports = [{ containerPort: 70000, protocol: 'TCP' }]),
    [[`${c1}.ports[0].containerPort`, 'FieldValueInvalid', 'Invalid value: 70000: must be between 1 and 65535, inclusive']],
  ],
  [
    'host port out of range',
    (p) => (p.spec!.containers![0]!.ports![0]!.hostPort = -1),
    [[`${c0}.ports[0].hostPort`, 'FieldValueInvalid', 'must be between 1 and 65535, inclusive']],
  ],
  [
    'duplicate port names',
    (p) => p.spec!.containers![0]!.ports!.push({ name: 'http', containerPort: 81, protocol: 'TCP' }),
    [[`${c0}.ports[1].name`, 'FieldValueDuplicate', 'Duplicate value: "http"']],
  ],
  [
    'bad port name',
    (p) => (p.spec!.containers![0]!.ports![0]!.name = 'HTTP--x'),
    [
      [`${c0}.ports[0].name`, 'FieldValueInvalid', 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'],
      [`${c0}.ports[0].name`, 'FieldValueInvalid', 'must not contain consecutive hyphens'],
    ],
  ],
  [
    'port protocol unsupported',
    (p) => (p.spec!.containers![0]!.ports![0]!.protocol = 'ICMP'),
    [[`${c0}.ports[0].protocol`, 'FieldValueNotSupported', 'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"']],
  ],
  [
    'duplicate host ports',
    (p) => {
      p.spec!.containers![0]!.ports![0]!.hostPort = 8080;
      p.spec!.containers![1]!.ports = [{ containerPort: 81, hostPort: 8080, protocol: 'TCP' }];
    },
    [[`${c1}.ports[0].hostPort`, 'FieldValueDuplicate', 'Duplicate value: "TCP//8080"']],
  ],
  [
    'hostNetwork with a different host port',
    (p) => {
      p.spec!.hostNetwork = true;
      p.spec!.containers![0]!.ports![0]!.hostPort = 8080;
    },
    [[`${c0}.ports[0].containerPort`, 'FieldValueInvalid', 'must match `hostPort` when `hostNetwork` is true']],
  ],
  ['env name missing', (p) => (p.spec!.containers![0]!.env![0]!.name = ''), [[`${c0}.env[0].name`, 'FieldValueRequired', 'Required value']]],
  [
    'env name invalid',
    (p) => (p.spec!.containers![0]!.env![0]!.name = '1MODE'),
    [[`${c0}.env[0].name`, 'FieldValueInvalid', 'a valid environment variable name must consist of']],
  ],
  [
    'env value and valueFrom',
    (p) => (p.spec!.containers![0]!.env![1]!.value = 'x'),
    [[`${c0}.env[1].valueFrom`, 'FieldValueInvalid', 'may not be specified when `value` is not empty']],
  ],
  [
    'env fieldRef path unsupported',
    (p) => (p.spec!.containers![0]!.env![1]!.valueFrom!.fieldRef!.fieldPath = 'spec.foo'),
    [[`${c0}.env[1].valueFrom.fieldRef.fieldPath`, 'FieldValueNotSupported', 'Unsupported value: "spec.foo"']],
  ],
  [
    'env resourceFieldRef of an unknown container',
    (p) => p.spec!.containers![0]!.env!.push({ name: 'CPU', valueFrom: { resourceFieldRef: { containerName: 'nope', resource: 'limits.cpu' } } }),
    [[`${c0}.env[2].valueFrom.resourceFieldRef.containerName`, 'FieldValueNotFound', 'Not found: "nope"']],
  ],
  [
    'invalid quantity',
    (p) => (p.spec!.containers![0]!.resources!.limits!['memory'] = '128mi'),
    [[`${c0}.resources.limits[memory]`, 'FieldValueInvalid', 'Invalid value: "128mi": unable to parse quantity\'s suffix']],
  ],
  [
    'quantity with a unit Kubernetes does not know',
    (p) => (p.spec!.containers![0]!.resources!.limits!['memory'] = '128MB'),
    [[`${c0}.resources.limits[memory]`, 'FieldValueInvalid', 'Invalid value: "128MB": quantities must match the regular expression']],
  ],
  [
    'malformed quantity',
    (p) => (p.spec!.containers![0]!.resources!.requests!['cpu'] = 'lots'),
    [[`${c0}.resources.requests[cpu]`, 'FieldValueInvalid', "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"]],
  ],
  [
    'negative quantity',
    (p) => (p.spec!.containers![0]!.resources!.requests!['cpu'] = '-1'),
    [[`${c0}.resources.requests[cpu]`, 'FieldValueInvalid', 'Invalid value: "-1": must be greater than or equal to 0']],
  ],
  [
    'request above limit',
    (p) => (p.spec!.containers![0]!.resources!.requests!['cpu'] = '1'),
    [[`${c0}.resources.requests`, 'FieldValueInvalid', 'Invalid value: "1": must be less than or equal to cpu limit of 500m']],
  ],
  [
    'unknown resource name',
    (p) => (p.spec!.containers![0]!.resources!.limits!['gpu'] = '1'),
    [[`${c0}.resources.limits[gpu]`, 'FieldValueInvalid', 'Invalid value: "gpu": must be a standard resource type or fully qualified']],
  ],
  [
    'extended resource request without limit',
    (p) => (p.spec!.containers![1]!.resources = { requests: { 'example.com/gpu': '1' } }),
    [[`${c1}.resources.limits`, 'FieldValueRequired', 'Limit must be set for non overcommitable resources']],
  ],
  [
    'extended resource fractional',
    (p) => (p.spec!.containers![1]!.resources = { requests: { 'example.com/gpu': '500m' }, limits: { 'example.com/gpu': '500m' } }),
    [
      [`${c1}.resources.limits[example.com/gpu]`, 'FieldValueInvalid', 'must be an integer'],
      [`${c1}.resources.requests[example.com/gpu]`, 'FieldValueInvalid', 'must be an integer'],
    ],
  ],
  [
    'pods is not a container resource',
    (p) => (p.spec!.containers![1]!.resources = { limits: { pods: '1' }, requests: { pods: '1' } }),
    [
      [`${c1}.resources.limits[pods]`, 'FieldValueInvalid', 'must be a standard resource for containers'],
      [`${c1}.resources.requests[pods]`, 'FieldValueInvalid', 'must be a standard resource for containers'],
    ],
  ],
  [
    'duplicate volume names',
    (p) => (p.spec!.volumes![1]!.name = 'data'),
    [
      ['spec.volumes[1].name', 'FieldValueDuplicate', 'Duplicate value: "data"'],
      [`${c1}.volumeMounts[0].name`, 'FieldValueNotFound', 'Not found: "host"'],
    ],
  ],
  [
    'volume name invalid',
    (p) => {
      p.spec!.volumes![0]!.name = 'Data';
      p.spec!.containers![0]!.volumeMounts![0]!.name = 'Data';
    },
    [['spec.volumes[0].name', 'FieldValueInvalid', 'a lowercase RFC 1123 label']],
  ],
  [
    'two volume sources',
    (p) => (p.spec!.volumes![0]!.hostPath = { path: '/tmp' }),
    [['spec.volumes[0].hostPath', 'FieldValueForbidden', 'may not specify more than 1 volume type']],
  ],
  [
    // Kubernetes has no absolute-path rule at the API (a Windows pod's is "C:\\etc"); the kubelet refuses a relative one.
    'hostPath relative (the kubelet refuses it)',
    (p) => (p.spec!.volumes![1]!.hostPath!.path = 'var/log'),
    [],
  ],
  [
    'hostPath with ..',
    (p) => (p.spec!.volumes![1]!.hostPath!.path = '/var/../etc'),
    [['spec.volumes[1].hostPath.path', 'FieldValueInvalid', "must not contain '..'"]],
  ],
  [
    'hostPath type unknown',
    (p) => (p.spec!.volumes![1]!.hostPath!.type = 'Dir'),
    [['spec.volumes[1].hostPath.type', 'FieldValueNotSupported', 'Unsupported value: "Dir"']],
  ],
  [
    'mount of an undefined volume',
    (p) => (p.spec!.containers![0]!.volumeMounts![0]!.name = 'cache'),
    [[`${c0}.volumeMounts[0].name`, 'FieldValueNotFound', 'Not found: "cache"']],
  ],
  [
    'mount path missing and duplicated',
    (p) => {
      p.spec!.containers![0]!.volumeMounts!.push({ name: 'host', mountPath: '/data' }, { name: 'host', mountPath: '' });
    },
    [
      [`${c0}.volumeMounts[1].mountPath`, 'FieldValueInvalid', 'must be unique'],
      [`${c0}.volumeMounts[2].mountPath`, 'FieldValueRequired', 'Required value'],
    ],
  ],
  [
    'probe without handler',
    (p) => (p.spec!.containers![0]!.livenessProbe = { periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 }),
    [[`${c0}.livenessProbe`, 'FieldValueRequired', 'must specify a handler type']],
  ],
  [
    'probe with two handlers',
    (p) => (p.spec!.containers![0]!.readinessProbe!.exec = { command: ['true'] }),
    [[`${c0}.readinessProbe.tcpSocket`, 'FieldValueForbidden', 'may not specify more than 1 handler type']],
  ],
  [
    'probe port out of range',
    (p) => (p.spec!.containers![0]!.readinessProbe!.tcpSocket!.port = { type: 0, intVal: 0 }),
    [[`${c0}.readinessProbe.tcpSocket.port`, 'FieldValueInvalid', 'Invalid value: 0: must be between 1 and 65535, inclusive']],
  ],
  [
    'probe port name invalid',
    (p) => (p.spec!.containers![0]!.livenessProbe!.httpGet!.port = { type: 1, strVal: 'a-very-long-port-name' }),
    [[`${c0}.livenessProbe.httpGet.port`, 'FieldValueInvalid', 'must be no more than 15 characters']],
  ],
  [
    'liveness successThreshold must be 1',
    (p) => (p.spec!.containers![0]!.livenessProbe!.successThreshold = 2),
    [[`${c0}.livenessProbe.successThreshold`, 'FieldValueInvalid', 'must be 1']],
  ],
  [
    'negative probe period',
    (p) => (p.spec!.containers![0]!.readinessProbe!.periodSeconds = -1),
    [[`${c0}.readinessProbe.periodSeconds`, 'FieldValueInvalid', 'must be greater than or equal to 0']],
  ],
  [
    'exec probe without command',
    (p) => (p.spec!.containers![1]!.livenessProbe = { exec: {}, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 }),
    [[`${c1}.livenessProbe.exec.command`, 'FieldValueRequired', 'Required value']],
  ],
  [
    'http scheme unknown',
    (p) => (p.spec!.containers![0]!.livenessProbe!.httpGet!.scheme = 'FTP'),
    [[`${c0}.livenessProbe.httpGet.scheme`, 'FieldValueNotSupported', 'supported values: "HTTP", "HTTPS"']],
  ],
  [
    'probe on an init container',
    (p) => (p.spec!.initContainers![0]!.readinessProbe = { exec: { command: ['true'] } }),
    [['spec.initContainers[0].readinessProbe', 'FieldValueForbidden', 'may not be set for init containers']],
  ],
  [
    'restartPolicy unknown',
    (p) => (p.spec!.restartPolicy = 'Sometimes'),
    [['spec.restartPolicy', 'FieldValueNotSupported', 'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"']],
  ],
  ['restartPolicy empty', (p) => (p.spec!.restartPolicy = ''), [['spec.restartPolicy', 'FieldValueRequired', 'Required value']]],
  [
    'imagePullPolicy unknown',
    (p) => (p.spec!.containers![0]!.imagePullPolicy = 'Sometimes'),
    [[`${c0}.imagePullPolicy`, 'FieldValueNotSupported', 'supported values: "Always", "IfNotPresent", "Never"']],
  ],
  [
    'negative termination grace period',
    (p) => (p.spec!.terminationGracePeriodSeconds = -1),
    [['spec.terminationGracePeriodSeconds', 'FieldValueInvalid', 'Invalid value: -1: must be greater than or equal to 0']],
  ],
  [
    'activeDeadlineSeconds 0',
    (p) => (p.spec!.activeDeadlineSeconds = 0),
    [['spec.activeDeadlineSeconds', 'FieldValueInvalid', 'must be between 1 and 2147483647, inclusive']],
  ],
  [
    'toleration operator unknown',
    (p) => (p.spec!.tolerations![0]!.operator = 'In'),
    [['spec.tolerations[0].operator', 'FieldValueNotSupported', 'supported values: "Equal", "Exists", "Gt", "Lt"']],
  ],
  [
    'Gt toleration with a non-integer value',
    (p) => p.spec!.tolerations!.splice(1, 0, { key: 'k', operator: 'Gt', value: 'high' }),
    [['spec.tolerations[1].value', 'FieldValueInvalid', 'must be a valid decimal integer in canonical form']],
  ],
  [
    'Lt toleration with leading zeros',
    (p) => p.spec!.tolerations!.splice(1, 0, { key: 'k', operator: 'Lt', value: '0900' }),
    [['spec.tolerations[1].value', 'FieldValueInvalid', 'Invalid value: "0900": must be a valid decimal integer in canonical form']],
  ],
  [
    'Gt toleration beyond int64',
    (p) => p.spec!.tolerations!.splice(1, 0, { key: 'k', operator: 'Gt', value: '9223372036854775808', effect: 'NoSchedule' }),
    [['spec.tolerations[1].value', 'FieldValueInvalid', 'must fit in a 64-bit signed integer']],
  ],
  [
    'toleration effect unknown',
    (p) => (p.spec!.tolerations![0]!.effect = 'NoRun'),
    [['spec.tolerations[0].effect', 'FieldValueNotSupported', 'supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"']],
  ],
  [
    'toleration without key must be Exists',
    (p) => p.spec!.tolerations!.splice(1, 0, { operator: 'Equal' }),
    [['spec.tolerations[1].operator', 'FieldValueInvalid', 'operator must be Exists when `key` is empty']],
  ],
  [
    'Exists toleration with a value',
    (p) => p.spec!.tolerations!.splice(1, 0, { key: 'k', operator: 'Exists', value: 'v' }),
    [['spec.tolerations[1].operator', 'FieldValueInvalid', "value must be empty when `operator` is 'Exists'"]],
  ],
  [
    'tolerationSeconds needs NoExecute',
    (p) => (p.spec!.tolerations![0]!.tolerationSeconds = 30),
    [['spec.tolerations[0].effect', 'FieldValueInvalid', "effect must be 'NoExecute' when `tolerationSeconds` is set"]],
  ],
  [
    'nodeSelector invalid key and value',
    (p) => (p.spec!.nodeSelector = { 'bad key': 'ok', good: 'bad value' }),
    [
      ['spec.nodeSelector', 'FieldValueInvalid', 'Invalid value: "bad key": name part must consist of'],
      ['spec.nodeSelector', 'FieldValueInvalid', 'Invalid value: "bad value": a valid label must be'],
    ],
  ],
  ['nodeName invalid', (p) => (p.spec!.nodeName = 'Node_1'), [['spec.nodeName', 'FieldValueInvalid', 'a lowercase RFC 1123 subdomain']]],
  ['dnsPolicy unknown', (p) => (p.spec!.dnsPolicy = 'Cluster'), [['spec.dnsPolicy', 'FieldValueNotSupported', 'Unsupported value: "Cluster"']]],
  [
    'dnsPolicy None without dnsConfig',
    (p) => (p.spec!.dnsPolicy = 'None'),
    [['spec.dnsConfig', 'FieldValueRequired', 'must provide `dnsConfig` when `dnsPolicy` is None']],
  ],
  [
    'dnsPolicy None without nameservers',
    (p) => {
      p.spec!.dnsPolicy = 'None';
      p.spec!.dnsConfig = { searches: ['example.com'] };
    },
    [['spec.dnsConfig.nameservers', 'FieldValueRequired', 'must provide at least one DNS nameserver when `dnsPolicy` is None']],
  ],
  [
    'dnsConfig: too many nameservers, a bad one, a bad search, an empty option name',
    (p) =>
      (p.spec!.dnsConfig = {
        nameservers: ['1.1.1.1', '8.8.8.8', '9.9.9.9', '10.0.0.300'],
        searches: ['ok.example.', 'Bad_Search'],
        options: [{ value: '2' }],
      }),
    [
      ['spec.dnsConfig.nameservers', 'FieldValueInvalid', 'must not have more than 3 nameservers'],
      ['spec.dnsConfig.nameservers[3]', 'FieldValueInvalid', 'Invalid value: "10.0.0.300": must be a valid IP address'],
      ['spec.dnsConfig.searches[1]', 'FieldValueInvalid', 'Invalid value: "Bad_Search": a lowercase RFC 1123 subdomain'],
      ['spec.dnsConfig.options[0]', 'FieldValueRequired', 'must not be empty'],
    ],
  ],
  [
    'dnsConfig: more than 32 search paths and 2048 characters',
    (p) => (p.spec!.dnsConfig = { searches: Array.from({ length: 33 }, (_, i) => `${'a'.repeat(62)}${i}.example`) }),
    [
      ['spec.dnsConfig.searches', 'FieldValueInvalid', 'must not have more than 32 search paths'],
      ['spec.dnsConfig.searches', 'FieldValueInvalid', 'must not have more than 2048 characters (including spaces) in the search list'],
    ],
  ],
  [
    'hostAliases: a bad IP and a bad hostname',
    (p) => (p.spec!.hostAliases = [{ ip: '127.0.0', hostnames: ['foo.local', 'Foo Bar'] }]),
    [
      ['spec.hostAliases[0].ip', 'FieldValueInvalid', 'Invalid value: "127.0.0": must be a valid IP address'],
      ['spec.hostAliases[0].hostnames[1]', 'FieldValueInvalid', 'Invalid value: "Foo Bar": a lowercase RFC 1123 subdomain'],
    ],
  ],
  ['pod IP invalid', (p) => (p.status = { phase: 'Running', podIP: '10.0.0.300' }), [['status.podIP', 'FieldValueInvalid', 'must be a valid IP address']]],
  ['pod phase unknown', (p) => (p.status = { phase: 'Sleeping' }), [['status.phase', 'FieldValueNotSupported', 'Unsupported value: "Sleeping"']]],
  [
    'pod name invalid',
    (p) => (p.metadata!.name = 'Web.1'),
    [['metadata.name', 'FieldValueInvalid', 'Invalid value: "Web.1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters']],
  ],
  ['pod namespace missing', (p) => (p.metadata!.namespace = ''), [['metadata.namespace', 'FieldValueRequired', 'Required value']]],
  [
    'subPath and subPathExpr together, subPathExpr escaping',
    (p) => (p.spec!.containers![0]!.volumeMounts = [{ name: 'data', mountPath: '/d', subPath: 'a', subPathExpr: '../$(POD_NAME)' }]),
    [
      [`${c0}.volumeMounts[0].subPathExpr`, 'FieldValueInvalid', 'Invalid value: "../$(POD_NAME)": subPathExpr and subPath are mutually exclusive'],
      [`${c0}.volumeMounts[0].subPathExpr`, 'FieldValueInvalid', "must not contain '..'"],
    ],
  ],
  [
    'subPath with ..',
    (p) => (p.spec!.containers![0]!.volumeMounts = [{ name: 'data', mountPath: '/d', subPath: 'a/../../etc' }]),
    [[`${c0}.volumeMounts[0].subPath`, 'FieldValueInvalid', `Invalid value: "a/../../etc": must not contain '..'`]],
  ],
  [
    'absolute subPathExpr',
    (p) => (p.spec!.containers![0]!.volumeMounts = [{ name: 'data', mountPath: '/d', subPathExpr: '/$(POD_NAME)' }]),
    [[`${c0}.volumeMounts[0].subPathExpr`, 'FieldValueInvalid', 'must be a relative path']],
  ],
  [
    'recursiveReadOnly without readOnly, with propagation',
    (p) => (p.spec!.containers![0]!.volumeMounts = [{ name: 'data', mountPath: '/d', recursiveReadOnly: 'Enabled', mountPropagation: 'HostToContainer' }]),
    [
      [`${c0}.volumeMounts[0].recursiveReadOnly`, 'FieldValueForbidden', 'Forbidden: may only be specified when readOnly is true'],
      [`${c0}.volumeMounts[0].recursiveReadOnly`, 'FieldValueForbidden', 'Forbidden: may only be specified when mountPropagation is None or not specified'],
    ],
  ],
  [
    'recursiveReadOnly of an unknown mode',
    (p) => (p.spec!.containers![0]!.volumeMounts = [{ name: 'data', mountPath: '/d', readOnly: true, recursiveReadOnly: 'Always' }]),
    [
      [
        `${c0}.volumeMounts[0].recursiveReadOnly`,
        'FieldValueNotSupported',
        'Unsupported value: "Always": supported values: "Disabled", "IfPossible", "Enabled"',
      ],
    ],
  ],
  [
    'shareProcessNamespace with hostPID',
    (p) => {
      p.spec!.shareProcessNamespace = true;
      p.spec!.hostPID = true;
    },
    [['spec.shareProcessNamespace', 'FieldValueInvalid', 'Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled']],
  ],
  [
    'hostUsers false with hostNetwork, hostPID and hostIPC',
    (p) => {
      p.spec!.hostUsers = false;
      p.spec!.hostNetwork = true;
      p.spec!.containers![0]!.ports = [];
      p.spec!.hostPID = true;
      p.spec!.hostIPC = true;
    },
    [
      ['spec.hostNetwork', 'FieldValueForbidden', 'Forbidden: when `pod.Spec.HostUsers` is false'],
      ['spec.HostPID', 'FieldValueForbidden', 'Forbidden: when `pod.Spec.HostUsers` is false'],
      ['spec.HostIPC', 'FieldValueForbidden', 'Forbidden: when `pod.Spec.HostUsers` is false'],
    ],
  ],
  [
    'supplementalGroupsPolicy of an unknown value',
    (p) => (p.spec!.securityContext = { supplementalGroupsPolicy: 'Union' }),
    [['spec.securityContext.supplementalGroupsPolicy', 'FieldValueNotSupported', 'Unsupported value: "Union": supported values: "Merge", "Strict"']],
  ],
  [
    'lifecycle handler missing',
    (p) => (p.spec!.containers![0]!.lifecycle = { postStart: {} }),
    [[`${c0}.lifecycle.postStart`, 'FieldValueRequired', 'Required value: must specify a handler type']],
  ],
  [
    'lifecycle with two handlers, an empty command and a bad port',
    (p) =>
      (p.spec!.containers![0]!.lifecycle = {
        postStart: { exec: { command: [] }, sleep: { seconds: 1 } },
        preStop: { httpGet: { path: '/quit', port: { type: 1, strVal: 'no_such' }, scheme: 'HTTP' } },
      }),
    [
      [`${c0}.lifecycle.postStart.exec.command`, 'FieldValueRequired', 'Required value'],
      [`${c0}.lifecycle.postStart.sleep`, 'FieldValueForbidden', 'may not specify more than 1 handler type'],
      [`${c0}.lifecycle.preStop.httpGet.port`, 'FieldValueInvalid', 'Invalid value: "no_such"'],
    ],
  ],
  [
    'lifecycle sleep beyond the grace period, and zero',
    (p) => {
      p.spec!.terminationGracePeriodSeconds = 10;
      p.spec!.containers![0]!.lifecycle = { preStop: { sleep: { seconds: 11 } }, postStart: { sleep: { seconds: 0 } } };
    },
    [
      [`${c0}.lifecycle.postStart.sleep`, 'FieldValueInvalid', 'Invalid value: 0: must be greater than 0 and less than terminationGracePeriodSeconds (10)'],
      [`${c0}.lifecycle.preStop.sleep`, 'FieldValueInvalid', 'Invalid value: 11: must be greater than 0 and less than terminationGracePeriodSeconds (10)'],
    ],
  ],
  [
    'lifecycle stopSignal without spec.os',
    (p) => (p.spec!.containers![0]!.lifecycle = { stopSignal: 'SIGUSR1' }),
    [[`${c0}.lifecycle.stopSignal`, 'FieldValueForbidden', 'may not be set for containers with empty `spec.os.name`']],
  ],
  [
    'lifecycle on an init container',
    (p) => (p.spec!.initContainers![0]!.lifecycle = { preStop: { sleep: { seconds: 1 } } }),
    [['spec.initContainers[0].lifecycle', 'FieldValueForbidden', 'may not be set for init containers without restartPolicy=Always']],
  ],
  // KEP-5307: a regular container may override the pod's restartPolicy, an init container may say OnFailure or Never.
  ['restartPolicy OnFailure on a regular container', (p) => (p.spec!.containers![0]!.restartPolicy = 'OnFailure'), []],
  ['restartPolicy Never on an init container', (p) => (p.spec!.initContainers![0]!.restartPolicy = 'Never'), []],
  [
    'container restartPolicy unknown',
    (p) => (p.spec!.containers![0]!.restartPolicy = 'Sometimes'),
    [[`${c0}.restartPolicy`, 'FieldValueNotSupported', 'Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"']],
  ],
  [
    'restartPolicyRules without the container restartPolicy',
    (p) => (p.spec!.containers![0]!.restartPolicyRules = [{ action: 'Restart', exitCodes: { operator: 'In', values: [42] } }]),
    [[`${c0}.restartPolicy`, 'FieldValueRequired', 'Required value: must specify restartPolicy when restart rules are used']],
  ],
  [
    'restartPolicyRules of both actions (a sidecar may restart the whole pod, KEP-5532)',
    (p) => {
      Object.assign(p.spec!.containers![0]!, {
        restartPolicy: 'Never',
        restartPolicyRules: [{ action: 'Restart', exitCodes: { operator: 'In', values: [42, 43] } }],
      });
      Object.assign(p.spec!.initContainers![0]!, {
        restartPolicy: 'Always',
        restartPolicyRules: [{ action: 'RestartAllContainers', exitCodes: { operator: 'NotIn', values: [0] } }],
      });
    },
    [],
  ],
  [
    'a Restart rule on a sidecar (which restarts anyway)',
    (p) =>
      Object.assign(p.spec!.initContainers![0]!, {
        restartPolicy: 'Always',
        restartPolicyRules: [{ action: 'Restart', exitCodes: { operator: 'In', values: [1] } }],
      }),
    [
      [
        'spec.initContainers[0].restartPolicyRules[0].action',
        'FieldValueNotSupported',
        'Unsupported value: "Restart": supported values: "RestartAllContainers"',
      ],
    ],
  ],
  [
    'restartPolicyRules: an empty operator',
    (p) => Object.assign(p.spec!.containers![0]!, { restartPolicy: 'Never', restartPolicyRules: [{ action: 'Restart', exitCodes: { values: [1] } }] }),
    [[`${c0}.restartPolicyRules[0].exitCodes.operator`, 'FieldValueNotSupported', 'Unsupported value: "": supported values: "In", "NotIn"']],
  ],
  [
    'restartPolicyRules: bad action, operator, missing exitCodes, duplicate value',
    (p) =>
      Object.assign(p.spec!.containers![0]!, {
        restartPolicy: 'Never',
        restartPolicyRules: [
          { action: 'Terminate', exitCodes: { operator: 'In', values: [1] } },
          { action: 'Restart', exitCodes: { operator: 'Equals', values: [1, 2, 1] } },
          { action: 'Restart' },
        ],
      }),
    [
      [`${c0}.restartPolicyRules[0].action`, 'FieldValueNotSupported', 'Unsupported value: "Terminate": supported values: "Restart", "RestartAllContainers"'],
      [`${c0}.restartPolicyRules[1].exitCodes.operator`, 'FieldValueNotSupported', 'Unsupported value: "Equals": supported values: "In", "NotIn"'],
      [`${c0}.restartPolicyRules[1].exitCodes.values[2]`, 'FieldValueDuplicate', 'Duplicate value: 1'],
      [`${c0}.restartPolicyRules[2].exitCodes`, 'FieldValueRequired', 'Required value: must be specified'],
    ],
  ],
  [
    'restartPolicyRules: more than 20 rules, more than 255 values',
    (p) =>
      Object.assign(p.spec!.containers![0]!, {
        restartPolicy: 'Never',
        restartPolicyRules: [
          { action: 'Restart', exitCodes: { operator: 'In', values: Array.from({ length: 256 }, (_, i) => i) } },
          ...Array.from({ length: 20 }, () => ({ action: 'Restart', exitCodes: { operator: 'In', values: [7] } })),
        ],
      }),
    [
      [`${c0}.restartPolicyRules`, 'FieldValueTooMany', 'Too many: 21: must have at most 20 items'],
      [`${c0}.restartPolicyRules[0].exitCodes.values`, 'FieldValueTooMany', 'Too many: 256: must have at most 255 items'],
    ],
  ],
  [
    'a sidecar probe is validated as a container probe',
    (p) => {
      const c = p.spec!.initContainers![0]!;
      c.restartPolicy = 'Always';
      c.livenessProbe = { exec: { command: ['true'] }, successThreshold: 2 };
    },
    [['spec.initContainers[0].livenessProbe.successThreshold', 'FieldValueInvalid', 'Invalid value: 2: must be 1']],
  ],
  [
    'Gt and Lt tolerations with int64 values (KEP-5471)',
    (p) => p.spec!.tolerations!.push({ key: 'a', operator: 'Gt', value: '900', effect: 'NoSchedule' }, { key: 'b', operator: 'Lt', value: '-5' }),
    [],
  ],
  ['emptyDir mode 01777 (a shared /tmp)', (p) => (p.spec!.volumes![0]!.emptyDir = { mode: 0o1777 }), []],
  [
    'emptyDir mode beyond 01777',
    (p) => (p.spec!.volumes![0]!.emptyDir = { mode: 0o4755 }),
    [['spec.volumes[0].emptyDir.mode', 'FieldValueInvalid', 'Invalid value: 2541: must be a number between 0 and 01777 (octal), both inclusive']],
  ],
];

for (const [name, mutate, expected] of CASES) {
  test(`pod: ${name}`, (t) => {
    const pod = valid('Pod');
    mutate(pod);
    assertCauses(t, validate('Pod', pod), expected, name);
  });
}

test('a sidecar (init container with restartPolicy Always) may have probes and lifecycle hooks', (t) => {
  const pod = valid('Pod');
  const c = pod.spec!.initContainers![0]!;
  c.restartPolicy = 'Always';
  c.startupProbe = { exec: { command: ['test', '-e', '/ready'] } };
  c.readinessProbe = { exec: { command: ['true'] } };
  c.livenessProbe = { exec: { command: ['true'] } };
  c.lifecycle = { postStart: { exec: { command: ['true'] } }, preStop: { exec: { command: ['true'] } } };
  assertCauses(t, validate('Pod', pod), []);
});

test('valid lifecycle hooks and subPaths pass', (t) => {
  const pod = valid('Pod');
  pod.spec!.terminationGracePeriodSeconds = 30;
  pod.spec!.containers![0]!.lifecycle = {
    postStart: { exec: { command: ['sh', '-c', 'date > /data/started'] } },
    preStop: { httpGet: { path: '/quit', port: { type: 1, strVal: 'http' }, scheme: 'HTTP' } },
  };
  pod.spec!.containers![1]!.lifecycle = { preStop: { sleep: { seconds: 30 } }, postStart: { tcpSocket: { port: { type: 0, intVal: 80 } } } };
  pod.spec!.containers![0]!.volumeMounts = [
    { name: 'data', mountPath: '/a', subPath: 'x/y' },
    { name: 'data', mountPath: '/b', subPathExpr: 'logs/$(POD_NAME)' },
  ];
  assertCauses(t, validate('Pod', pod), []);
});

test("shareProcessNamespace, recursiveReadOnly and supplementalGroupsPolicy as Kubernetes' examples use them pass", (t) => {
  const pod = valid('Pod');
  pod.spec!.shareProcessNamespace = true;
  pod.spec!.securityContext = { supplementalGroupsPolicy: 'Strict', runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000] };
  pod.spec!.containers![0]!.volumeMounts = [
    { name: 'data', mountPath: '/a', readOnly: true, recursiveReadOnly: 'Enabled', mountPropagation: 'None' },
    { name: 'data', mountPath: '/b', readOnly: true, recursiveReadOnly: 'IfPossible' },
    { name: 'data', mountPath: '/c', recursiveReadOnly: 'Disabled', mountPropagation: 'HostToContainer' },
  ];
  assertCauses(t, validate('Pod', pod), []);
});

test('hostUsers false alone, or with shareProcessNamespace and volumes, passes', (t) => {
  const pod = valid('Pod');
  pod.spec!.hostUsers = false;
  pod.spec!.shareProcessNamespace = true;
  assertCauses(t, validate('Pod', pod), []);
  pod.spec!.hostUsers = true;
  pod.spec!.hostNetwork = true;
  pod.spec!.containers![0]!.ports = [];
  assertCauses(t, validate('Pod', pod), []);
});

test('a pod with several problems reports each', (t) => {
  const pod = valid('Pod');
  pod.spec!.containers![1]!.name = 'web';
  pod.spec!.containers![1]!.ports = [{ containerPort: 0, protocol: 'TCP' }];
  pod.spec!.restartPolicy = 'Sometimes';
  const causes = validate('Pod', pod);
  t.deepEqual(causes.map((c) => c.field).sort(), ['spec.containers[1].name', 'spec.containers[1].ports[0].containerPort', 'spec.restartPolicy']);
});

test('a pod decoded from protobuf (zero values, not undefined) is valid', (t) => {
  const pod = valid('Pod');
  const c = pod.spec!.containers![1]!;
  Object.assign(c, { workingDir: '', ports: [], env: [], args: [], stdin: false, tty: false });
  Object.assign(pod.spec!, { nodeName: '', hostname: '', subdomain: '', serviceAccountName: '', hostNetwork: false });
  assertCauses(t, validate('Pod', pod), []);
});
