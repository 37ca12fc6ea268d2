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
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* The namespaces held by bind mounts in DIR; "pid" only with a shared PID namespace. */
static const char *kinds[] = {"net", "ipc", "uts", "pid"};
#define ALWAYS_KINDS 3

/* Sandbox options (the words after HOSTNAME). */
#define SANDBOX_HOST_IPC 1
#define SANDBOX_SHARE_PID 2

/* Reads DIR/init.pid: the host PID of the pod's PID 1; 0 when there is none. */
static pid_t read_init_pid(const char *dir) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/init.pid", dir);
  char *text = read_file(path);
  pid_t pid = text ? (pid_t)atoi(text) : 0;
  free(text);
  return pid > 0 ? pid : 0;
}

/*
 * Kills the pod's PID 1 (and with it, by the kernel, everything left in its
 * PID namespace), but only if that PID still is the init of DIR/pid: after
 * a reboot or its death the number may belong to another process.
 */
static void kill_pod_init(const char *dir) {
  pid_t pid = read_init_pid(dir);
  if (!pid) return;
  char path[PATH_MAX], ns[64];
  snprintf(path, sizeof path, "%s/pid", dir);
  snprintf(ns, sizeof ns, "/proc/%d/ns/pid", (int)pid);
  struct stat held, its;
  if (stat(path, &held) == 0 && stat(ns, &its) == 0 && held.st_ino == its.st_ino && held.st_dev == its.st_dev)
    kill(pid, SIGKILL);
}

__attribute__((unused)) static int remove_sandbox(const char *dir) {
  int rc = 0;
  char path[PATH_MAX];
  kill_pod_init(dir);
  snprintf(path, sizeof path, "%s/init.pid", dir);
  unlink(path);
  for (int i = 0; i < 4; i++) {
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
 * The pod's PID 1 when its containers share a PID namespace (Kubernetes'
 * pause): it reaps the orphans the containers leave to it and exits on
 * SIGINT or SIGTERM, as pause does. Its death ends the namespace, and the
 * kernel kills what is left in it. Never returns.
 */
/* The signals the pod init waits for; blocked by its parent before the fork, so none sent early is lost. */
static void pod_init_signals(sigset_t *set) {
  sigemptyset(set);
  sigaddset(set, SIGCHLD);
  sigaddset(set, SIGINT);
  sigaddset(set, SIGTERM);
}

static void pod_init(void) {
  setsid();
  prctl(PR_SET_NAME, "pause");
  int devnull = open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
  }
  /* Nothing of the caller's stays open: the launcher's reply pipe least of all. */
  for (int fd = 3; fd < 1024; fd++) close(fd);
  if (chdir("/") < 0) _exit(1);
  sigset_t set;
  pod_init_signals(&set);
  for (;;) {
    int sig = sigwaitinfo(&set, NULL);
    if (sig == SIGINT || sig == SIGTERM) _exit(0);
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
  }
}

/*
 * Starts the pod's PID 1 in a new PID namespace (the caller's unshare made
 * it the namespace of its children) and holds that namespace on DIR/pid;
 * its host PID goes to DIR/init.pid, for remove_sandbox. Returns 0 or the
 * failed step's result (the init is killed again).
 */
static int start_pod_init(const char *dir) {
  char path[PATH_MAX], src[64];
  /*
   * A PID 1 ignores a signal it has no handler for, even SIGTERM from the
   * host: the child starts with them blocked, so one sent before it waits is
   * kept pending, not dropped.
   */
  sigset_t set, old;
  pod_init_signals(&set);
  sigprocmask(SIG_BLOCK, &set, &old);
  pid_t pid = fork();
  if (pid == 0) pod_init();
  sigprocmask(SIG_SETMASK, &old, NULL);
  if (pid < 0) return fail(dir, "fork pod init");
  snprintf(path, sizeof path, "%s/pid", dir);
  snprintf(src, sizeof src, "/proc/%d/ns/pid", (int)pid);
  char text[32];
  snprintf(text, sizeof text, "%d\n", (int)pid);
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
  const char *step = fd < 0 ? "create ns file pid" : NULL;
  if (fd >= 0) close(fd);
  if (!step && mount(src, path, NULL, MS_BIND, NULL) < 0) step = "bind mount pid namespace";
  if (!step && write_file_atomic(dir, "init.pid", text) < 0) step = "write init.pid";
  if (!step) return 0;
  int saved = errno;
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  errno = saved;
  return fail(dir, step);
}

/*
 * opts SANDBOX_HOST_IPC: the sandbox keeps the caller's (the node's) IPC
 * namespace, and DIR/ipc holds that one, so containers joining it share the
 * host's (Kubernetes hostIPC). SANDBOX_SHARE_PID: a PID namespace for the
 * whole pod, with a process of the sandbox as its PID 1 (Kubernetes
 * shareProcessNamespace); unlike the others it needs a live process, since
 * no process can enter a PID namespace whose init has exited.
 */
__attribute__((unused)) static int create_sandbox(const char *dir, const char *hostname, int opts) {
  char path[PATH_MAX], src[64];
  int host_ipc = opts & SANDBOX_HOST_IPC;
  for (int i = 0; i < ALWAYS_KINDS; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, kinds[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
    if (fd < 0) return fail(dir, "create ns file");
    close(fd);
  }
  int pid_ns = opts & SANDBOX_SHARE_PID ? CLONE_NEWPID : 0;
  if (unshare(CLONE_NEWNET | (host_ipc ? 0 : CLONE_NEWIPC) | CLONE_NEWUTS | pid_ns) < 0) return fail(dir, "unshare");
  if (sethostname(hostname, strlen(hostname)) < 0) return fail(dir, "sethostname");
  if (loopback_up() < 0) return fail(dir, "loopback up");
  int sc = write_sysctls(dir);
  if (sc == -1) return fail(dir, "read sysctls");
  if (sc < 0) {
    remove_sandbox(dir);
    return 1;
  }
  for (int i = 0; i < ALWAYS_KINDS; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, kinds[i]);
    snprintf(src, sizeof src, "/proc/self/ns/%s", kinds[i]);
    if (mount(src, path, NULL, MS_BIND, NULL) < 0) {
      char step[PATH_MAX + 32];
      snprintf(step, sizeof step, "bind mount %s", path);
      return fail(dir, step);
    }
  }
  return pid_ns ? start_pod_init(dir) : 0;
}

/* The options words after HOSTNAME ("hostipc", "sharepid"); -1 for an unknown one. */
__attribute__((unused)) static int parse_sandbox_opts(char **words, int n) {
  int opts = 0;
  for (int i = 0; i < n; i++) {
    if (!strcmp(words[i], "hostipc")) opts |= SANDBOX_HOST_IPC;
    else if (!strcmp(words[i], "sharepid")) opts |= SANDBOX_SHARE_PID;
    else return -1;
  }
  return opts;
}

#endif
