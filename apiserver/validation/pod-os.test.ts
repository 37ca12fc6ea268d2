import test from 'ava';
import type { Pod } from '../../api/gen/tsk/v1/core';
import { assertCauses, type Expected, valid } from './fixtures';
import { validate } from './index';
import { STOP_SIGNALS_LINUX } from './pod-os';

const c0 = 'spec.containers[0]';
const WIN = 'cannot be set for a windows pod';
const windows = (p: Pod): void => void (p.spec!.os = { name: 'windows' });
const linux = (p: Pod): void => void (p.spec!.os = { name: 'linux' });

// [name, mutation of a valid pod, expected causes]
const CASES: Array<[string, (p: Pod) => void, Expected[]]> = [
  ['os linux', linux, []],
  ['os windows', windows, []],
  ['os name empty', (p) => (p.spec!.os = { name: '' }), [['spec.os.name', 'FieldValueRequired', 'Required value: cannot be empty']]],
  [
    'os name unknown',
    (p) => (p.spec!.os = { name: 'darwin' }),
    [['spec.os', 'FieldValueNotSupported', 'Unsupported value: "darwin": supported values: "linux", "windows"']],
  ],
  [
    'windows options on a linux pod',
    (p) => {
      linux(p);
      p.spec!.securityContext = { windowsOptions: { runAsUserName: 'ContainerUser' } };
      p.spec!.containers![0]!.securityContext = { windowsOptions: { runAsUserName: 'ContainerUser' } };
    },
    [
      ['spec.securityContext.windowsOptions', 'FieldValueForbidden', 'Forbidden: windows options cannot be set for a linux pod'],
      [`${c0}.securityContext.windowsOptions`, 'FieldValueForbidden', 'Forbidden: windows options cannot be set for a linux pod'],
    ],
  ],
  [
    'windows options without spec.os (Windows examples)',
    (p) => {
      p.spec!.securityContext = { windowsOptions: { runAsUserName: 'ContainerUser' } };
      p.spec!.containers![0]!.securityContext = { windowsOptions: { runAsUserName: 'ContainerAdministrator' } };
    },
    [],
  ],
  [
    'linux-only pod fields on a windows pod',
    (p) => {
      windows(p);
      p.spec!.hostPID = true;
      p.spec!.hostIPC = true;
      p.spec!.shareProcessNamespace = false;
      p.spec!.hostUsers = true;
      p.spec!.securityContext = {
        seLinuxOptions: { level: 's0' },
        runAsUser: 1000,
        runAsGroup: 1000,
        fsGroup: 2000,
        supplementalGroups: [3000],
        sysctls: [{ name: 'net.ipv4.ip_forward', value: '1' }],
        seccompProfile: { type: 'RuntimeDefault' },
      };
    },
    [
      ['spec.securityContext.seLinuxOptions', 'FieldValueForbidden', WIN],
      ['spec.hostUsers', 'FieldValueForbidden', WIN],
      ['spec.hostPID', 'FieldValueForbidden', WIN],
      ['spec.hostIPC', 'FieldValueForbidden', WIN],
      ['spec.securityContext.seccompProfile', 'FieldValueForbidden', WIN],
      ['spec.securityContext.fsGroup', 'FieldValueForbidden', WIN],
      ['spec.securityContext.sysctls', 'FieldValueForbidden', WIN],
      ['spec.shareProcessNamespace', 'FieldValueForbidden', WIN],
      ['spec.securityContext.runAsUser', 'FieldValueForbidden', WIN],
      ['spec.securityContext.runAsGroup', 'FieldValueForbidden', WIN],
      ['spec.securityContext.supplementalGroups', 'FieldValueForbidden', WIN],
    ],
  ],
  [
    'hostPID on a windows pod without a securityContext',
    (p) => {
      windows(p);
      p.spec!.hostPID = true;
    },
    [['spec.hostPID', 'FieldValueForbidden', WIN]],
  ],
  [
    'linux-only container fields on a windows pod',
    (p) => {
      windows(p);
      p.spec!.containers![0]!.securityContext = {
        capabilities: { add: ['NET_ADMIN'] },
        privileged: false,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        procMount: 'Default',
        runAsUser: 0,
      };
    },
    [
      [`${c0}.securityContext.capabilities`, 'FieldValueForbidden', WIN],
      [`${c0}.securityContext.readOnlyRootFilesystem`, 'FieldValueForbidden', WIN],
      [`${c0}.securityContext.privileged`, 'FieldValueForbidden', WIN],
      [`${c0}.securityContext.allowPrivilegeEscalation`, 'FieldValueForbidden', WIN],
      [`${c0}.securityContext.procMount`, 'FieldValueForbidden', WIN],
      [`${c0}.securityContext.runAsUser`, 'FieldValueForbidden', WIN],
    ],
  ],
  [
    'runAsUserName with a domain',
    (p) => (p.spec!.securityContext = { windowsOptions: { runAsUserName: 'CONTOSO\\svc-app', gmsaCredentialSpecName: 'webapp1' } }),
    [],
  ],
  ...(
    [
      ['a\tb', 'runAsUserName cannot contain control characters'],
      ['a\\b\\c', 'runAsUserName cannot contain more than one backslash'],
      ['DOMAIN\\', "runAsUserName's User cannot be empty"],
      ['u'.repeat(105), "runAsUserName's User length must not be longer than 104 characters"],
      ['. .', "runAsUserName's User cannot contain only periods or spaces"],
      ['a@b', 'runAsUserName\'s User cannot contain the following characters: "/\\:;|=,+*?<>@[]'],
      ['.bad*\\user', "runAsUserName's Domain doesn't match the NetBios nor the DNS format"],
      [`${'d'.repeat(256)}\\user`, "runAsUserName's Domain length must be under 256 characters"],
    ] as const
  ).map(([name, msg]): [string, (p: Pod) => void, Expected[]] => [
    `runAsUserName ${JSON.stringify(name.slice(0, 12))}`,
    (p) => (p.spec!.containers![0]!.securityContext = { windowsOptions: { runAsUserName: name } }),
    [[`${c0}.securityContext.windowsOptions.runAsUserName`, 'FieldValueInvalid', msg]],
  ]),
  [
    'gmsa credential spec name not a DNS subdomain',
    (p) => (p.spec!.securityContext = { windowsOptions: { gmsaCredentialSpecName: 'Bad_Name' } }),
    [['spec.securityContext.windowsOptions.gmsaCredentialSpecName', 'FieldValueInvalid', 'a lowercase RFC 1123 subdomain']],
  ],
  [
    'gmsa credential spec too large',
    (p) => (p.spec!.securityContext = { windowsOptions: { gmsaCredentialSpec: 'x'.repeat(64 * 1024 + 1) } }),
    [['spec.securityContext.windowsOptions.gmsaCredentialSpec', 'FieldValueInvalid', 'gmsaCredentialSpec size must be under 64 KiB']],
  ],
  [
    'hostProcess pod with the host network',
    (p) => {
      p.spec!.hostNetwork = true;
      p.spec!.containers![0]!.ports![0]!.hostPort = 80;
      p.spec!.securityContext = { windowsOptions: { hostProcess: true } };
    },
    [],
  ],
  [
    'hostProcess: containers disagree, no host network',
    (p) => {
      p.spec!.securityContext = { windowsOptions: { hostProcess: true } };
      p.spec!.containers![0]!.securityContext = { windowsOptions: { hostProcess: false } };
    },
    [
      [
        `${c0}.securityContext.windowsOptions.hostProcess`,
        'FieldValueInvalid',
        'Invalid value: false: pod hostProcess value must be identical if both are specified, was true',
      ],
      ['spec', 'FieldValueInvalid', 'If pod contains any hostProcess containers then all containers must be HostProcess containers'],
      ['spec.hostNetwork', 'FieldValueInvalid', 'hostNetwork must be true if pod contains any hostProcess containers'],
    ],
  ],
  [
    'stopSignal on a linux pod',
    (p) => {
      linux(p);
      p.spec!.containers![0]!.lifecycle = { stopSignal: 'SIGUSR1' };
      p.spec!.containers![1]!.lifecycle = { stopSignal: 'SIGRTMIN+3' };
    },
    [],
  ],
  [
    'unknown stopSignal on a linux pod',
    (p) => {
      linux(p);
      p.spec!.containers![0]!.lifecycle = { stopSignal: 'SIGFOO' };
    },
    [[`${c0}.lifecycle.stopSignal`, 'FieldValueNotSupported', 'Unsupported value: "SIGFOO": supported values: "SIGABRT", "SIGALRM", "SIGBUS", "SIGCHLD"']],
  ],
  [
    'stopSignal SIGUSR1 on a windows pod',
    (p) => {
      windows(p);
      p.spec!.containers![0]!.lifecycle = { stopSignal: 'SIGUSR1' };
      p.spec!.containers![1]!.lifecycle = { stopSignal: 'SIGKILL' };
    },
    [[`${c0}.lifecycle.stopSignal`, 'FieldValueNotSupported', 'Unsupported value: "SIGUSR1": supported values: "SIGKILL", "SIGTERM"']],
  ],
  [
    'Windows paths of mounts and hostPath volumes',
    (p) => {
      p.spec!.volumes![1]!.hostPath!.path = 'C:\\etc\\foo';
      p.spec!.containers![0]!.volumeMounts = [{ name: 'data', mountPath: 'C:/scratch' }];
    },
    [],
  ],
];

for (const [name, mutate, expected] of CASES) {
  test(`pod os: ${name}`, (t) => {
    const pod = valid('Pod') as Pod;
    mutate(pod);
    assertCauses(t, validate('Pod', pod), expected);
  });
}

test('the Linux stop signals: the named ones and SIGRTMIN..SIGRTMAX, sorted as Go sorts them', (t) => {
  t.is(STOP_SIGNALS_LINUX.length, 65);
  t.true(STOP_SIGNALS_LINUX.includes('SIGRTMIN+15') && STOP_SIGNALS_LINUX.includes('SIGRTMAX-14'));
  t.deepEqual([...STOP_SIGNALS_LINUX].sort(), STOP_SIGNALS_LINUX);
});

test('a windows pod decoded from protobuf (empty strings for unset fields) is valid', (t) => {
  const pod = valid('Pod') as Pod;
  windows(pod);
  const empty = { gmsaCredentialSpecName: '', gmsaCredentialSpec: '', runAsUserName: '' };
  pod.spec!.securityContext = { supplementalGroups: [], sysctls: [], fsGroupChangePolicy: '', windowsOptions: { ...empty, runAsUserName: 'ContainerUser' } };
  pod.spec!.containers![0]!.securityContext = { procMount: '', windowsOptions: empty };
  assertCauses(t, validate('Pod', pod), []);
});
