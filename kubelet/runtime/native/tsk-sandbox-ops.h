/*
 * Pod sandbox namespace operations, shared by tsk-sandbox (the command) and
 * tsk-launcher (which runs them in a forked child, without an exec).
 * Errors go to stderr, one line naming the step.
 */
#ifndef TSK_SANDBOX_OPS_H
#define TSK_SANDBOX_OPS_H

#include "tsk-common.h"

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>

static const char *kinds[] = {"net", "ipc", "uts"};

__attribute__((unused)) static int remove_sandbox(const char *dir) {
  int rc = 0;
  char path[PATH_MAX];
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, kinds[i]);
    /* Loop: a path may have been bind-mounted twice by an interrupted create. */
    while (umount2(path, MNT_DETACH) == 0) {
    }
    if (errno != EINVAL && errno != ENOENT) {
      fprintf(stderr, "umount %s: %s\n", path, strerror(errno));
      rc = 1;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
      fprintf(stderr, "unlink %s: %s\n", path, strerror(errno));
      rc = 1;
    }
  }
  return rc;
}

static int fail(const char *dir, const char *step) {
  fprintf(stderr, "%s: %s\n", step, strerror(errno));
  remove_sandbox(dir);
  return 1;
}

static int loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    rc = ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  close(s);
  return rc;
}

/*
 * Writes the pod's sysctls from DIR/sysctls (lines "PATH VALUE", PATH under
 * /proc/sys, validated by the kubelet) from inside the new namespaces: the
 * kernel resolves /proc/sys/net and the IPC sysctls by the namespaces of the
 * process that opens them, so these writes change the pod's, not the host's.
 */
static int write_sysctls(const char *dir) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/sysctls", dir);
  char *text = read_file(path);
  if (!text) return errno == ENOENT ? 0 : -1;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *v = strchr(line, ' ');
    if (!v) continue;
    *v++ = 0;
    char file[PATH_MAX];
    snprintf(file, sizeof file, "/proc/sys/%s", line);
    if (write_file(file, v) < 0) {
      fprintf(stderr, "write sysctl %s=%s: %s\n", line, v, strerror(errno));
      free(text);
      return -2;
    }
  }
  free(text);
  return 0;
}

/*
 * host_ipc: the sandbox keeps the caller's (the node's) IPC namespace, and
 * DIR/ipc holds that one, so containers joining it share the host's
 * (Kubernetes hostIPC).
 */
__attribute__((unused)) static int create_sandbox(const char *dir, const char *hostname, int host_ipc) {
  char path[PATH_MAX], src[64];
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, kinds[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
    if (fd < 0) return fail(dir, "create ns file");
    close(fd);
  }
  if (unshare(CLONE_NEWNET | (host_ipc ? 0 : CLONE_NEWIPC) | CLONE_NEWUTS) < 0) return fail(dir, "unshare");
  if (sethostname(hostname, strlen(hostname)) < 0) return fail(dir, "sethostname");
  if (loopback_up() < 0) return fail(dir, "loopback up");
  int sc = write_sysctls(dir);
  if (sc == -1) return fail(dir, "read sysctls");
  if (sc < 0) {
    remove_sandbox(dir);
    return 1;
  }
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, kinds[i]);
    snprintf(src, sizeof src, "/proc/self/ns/%s", kinds[i]);
    if (mount(src, path, NULL, MS_BIND, NULL) < 0) {
      char step[PATH_MAX + 32];
      snprintf(step, sizeof step, "bind mount %s", path);
      return fail(dir, step);
    }
  }
  return 0;
}

#endif
