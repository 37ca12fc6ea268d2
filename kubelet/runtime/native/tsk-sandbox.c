/*
 * tsk-sandbox: creates and removes the namespaces of a pod sandbox.
 *
 *   tsk-sandbox create DIR HOSTNAME [hostipc] [sharepid] [userns=HOST:LEN]
 *                                     new network (loopback up), IPC and UTS
 *                                     namespaces, held by bind-mounting their
 *                                     ns files onto DIR/net, DIR/ipc, DIR/uts,
 *                                     so no process has to stay alive; with
 *                                     hostipc DIR/ipc is the caller's IPC
 *                                     namespace. DIR/sysctls, if present, is
 *                                     written inside the new namespaces.
 *                                     With sharepid also a PID namespace for
 *                                     the pod, on DIR/pid, whose PID 1 is a
 *                                     small reaper (pause), its host PID in
 *                                     DIR/init.pid. With userns= first a
 *                                     user namespace mapping the pod's IDs
 *                                     0..LEN-1 to HOST.., on DIR/user, which
 *                                     owns the other namespaces.
 *   tsk-sandbox remove DIR            kills that PID 1 and unmounts the
 *                                     namespaces (idempotent).
 *
 * The network namespace is never linked to the host's: wiring it is the job
 * of the kubelet's network hook, which gets DIR/net.
 */
#include "tsk-sandbox-ops.h"

int main(int argc, char **argv) {
  struct sandbox_opts opts;
  if (argc >= 4 && !strcmp(argv[1], "create") && parse_sandbox_opts(argv + 4, argc - 4, &opts) == 0)
    return create_sandbox(argv[2], argv[3], &opts);
  if (argc == 3 && !strcmp(argv[1], "remove")) return remove_sandbox(argv[2]);
  fprintf(stderr, "usage: tsk-sandbox create DIR HOSTNAME [hostipc] [sharepid] [userns=HOST:LEN] | tsk-sandbox remove DIR\n");
  return 2;
}
