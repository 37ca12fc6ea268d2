/*
 * tsk-sandbox: creates and removes the namespaces of a pod sandbox.
 *
 *   tsk-sandbox create DIR HOSTNAME [hostipc]
 *                                     new network (loopback up), IPC and UTS
 *                                     namespaces, held by bind-mounting their
 *                                     ns files onto DIR/net, DIR/ipc, DIR/uts,
 *                                     so no process has to stay alive; with
 *                                     hostipc DIR/ipc is the caller's IPC
 *                                     namespace. DIR/sysctls, if present, is
 *                                     written inside the new namespaces.
 *   tsk-sandbox remove DIR            unmounts them (idempotent).
 *
 * The network namespace is never linked to the host's: wiring it is the job
 * of the kubelet's network hook, which gets DIR/net.
 */
#include "tsk-sandbox-ops.h"

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "create")) return create_sandbox(argv[2], argv[3], 0);
  if (argc == 5 && !strcmp(argv[1], "create") && !strcmp(argv[4], "hostipc")) return create_sandbox(argv[2], argv[3], 1);
  if (argc == 3 && !strcmp(argv[1], "remove")) return remove_sandbox(argv[2]);
  fprintf(stderr, "usage: tsk-sandbox create DIR HOSTNAME [hostipc] | tsk-sandbox remove DIR\n");
  return 2;
}
