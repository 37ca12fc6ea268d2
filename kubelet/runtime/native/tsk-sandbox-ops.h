/*
 * Pod sandbox namespace operations, shared by tsk-sandbox (the command) and
 * tsk-launcher (which runs them in a forked child, without an exec).
 * Errors go to stderr, one line naming the step.
 */
#ifndef TSK_SANDBOX_OPS_H
#define TSK_SANDBOX_OPS_H

#include "tsk-common.h"
#include "tsk-userns.h"

#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* The namespaces held by bind mounts in DIR; "pid" only with a shared PID namespace, "user" only with a user namespace. */
static const char *kinds[] = {"net", "ipc", "uts", "pid", "user"};
#define ALWAYS_KINDS 3
#define ALL_KINDS 5

/* Sandbox options (the words after HOSTNAME). */
#define SANDBOX_HOST_IPC 1
#define SANDBOX_SHARE_PID 2
#define SANDBOX_USERNS 4

struct sandbox_opts {
  int flags;
  /* With SANDBOX_USERNS: the pod's IDs 0..userns_len-1 are the host's userns_host.. (option userns=HOST:LEN). */
  unsigned long userns_host, userns_len;
};

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
  for (int i = 0; i < ALL_KINDS; i++) {
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
 * The pod's sysctls are in DIR/sysctls (lines "PATH VALUE", PATH under
 * /proc/sys, validated by the kubelet), written from inside the new
 * namespaces: the kernel resolves /proc/sys/net and the IPC sysctls by the
 * namespaces of the process that opens them, so these writes change the
 * pod's, not the host's.
 */
/* DIR/sysctls, or NULL with errno set (ENOENT: none). */
static char *read_sysctls(const char *dir) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/sysctls", dir);
  return read_file(path);
}

/* Writes the "PATH VALUE" lines of text (freed). Returns 0, or -2 with the error on stderr. */
static int apply_sysctls(char *text) {
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
static int hold_pod_init(const char *dir, pid_t pid);

/*
 * Forks the pod's init (see pod_init); returns its host PID, or -1.
 * A PID 1 ignores a signal it has no handler for, even SIGTERM from the
 * host: the child starts with them blocked, so one sent before it waits is
 * kept pending, not dropped.
 */
static pid_t fork_pod_init(void) {
  sigset_t set, old;
  pod_init_signals(&set);
  sigprocmask(SIG_BLOCK, &set, &old);
  pid_t pid = fork();
  if (pid == 0) pod_init();
  sigprocmask(SIG_SETMASK, &old, NULL);
  return pid;
}

static int start_pod_init(const char *dir) {
  pid_t pid = fork_pod_init();
  if (pid < 0) return fail(dir, "fork pod init");
  return hold_pod_init(dir, pid);
}

/* Holds the PID namespace of the pod's init (host PID pid) on DIR/pid and records it in DIR/init.pid; kills it on failure. */
static int hold_pod_init(const char *dir, pid_t pid) {
  char path[PATH_MAX], src[64];
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

/* Makes the namespace files in DIR that bind mounts will hold: net, ipc, uts, and user with a user namespace. */
static int create_ns_files(const char *dir, int userns) {
  char path[PATH_MAX];
  for (int i = 0; i < ALL_KINDS; i++) {
    if (!strcmp(kinds[i], "pid") || (!userns && !strcmp(kinds[i], "user"))) continue;
    snprintf(path, sizeof path, "%s/%s", dir, kinds[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
    if (fd < 0) return -1;
    close(fd);
  }
  return 0;
}

/*
 * Sets up the namespaces the caller just unshared: hostname, loopback, and
 * the sysctls of DIR/sysctls (read beforehand into sysctls, NULL: none;
 * freed). Returns 0, or 1 (the error on stderr).
 */
static int init_namespaces(const char *hostname, char *sysctls) {
  if (sethostname(hostname, strlen(hostname)) < 0) return fprintf(stderr, "sethostname: %s\n", strerror(errno)), 1;
  if (loopback_up() < 0) return fprintf(stderr, "loopback up: %s\n", strerror(errno)), 1;
  return sysctls && apply_sysctls(sysctls) < 0 ? 1 : 0;
}

/* DIR/sysctls for init_namespaces: 0 with *text set (NULL: no file), or -1 (the error on stderr). */
static int load_sysctls(const char *dir, char **text) {
  *text = read_sysctls(dir);
  if (*text || errno == ENOENT) return 0;
  fprintf(stderr, "read sysctls: %s\n", strerror(errno));
  return -1;
}

/* Bind-mounts /proc/PID/ns/KIND (PID 0: self) onto DIR/KIND for the always-held kinds (and user). Returns 0, or -1 naming the step in failed. */
static int hold_namespaces(const char *dir, pid_t pid, int userns, char *failed, size_t n) {
  char path[PATH_MAX], src[64];
  for (int i = 0; i < ALL_KINDS; i++) {
    if (!strcmp(kinds[i], "pid") || (!userns && !strcmp(kinds[i], "user"))) continue;
    snprintf(path, sizeof path, "%s/%s", dir, kinds[i]);
    if (pid) snprintf(src, sizeof src, "/proc/%d/ns/%s", (int)pid, kinds[i]);
    else snprintf(src, sizeof src, "/proc/self/ns/%s", kinds[i]);
    if (mount(src, path, NULL, MS_BIND, NULL) < 0) {
      snprintf(failed, n, "bind mount %s", path);
      return -1;
    }
  }
  return 0;
}

/*
 * The namespaces' process with a user namespace (see create_sandbox): it
 * enters a new user namespace, waits on `in` until the parent has written
 * its ID maps, becomes the namespace's root, and only then unshares the
 * network, IPC, UTS (and PID) namespaces, so they are owned by the pod's
 * user namespace: its root may configure them (namespaced CAP_NET_ADMIN,
 * sysfs of its own network), and nothing else. It reports "O INIT_PID" on
 * `out` (0: no pod init) and waits for the parent to hold the namespaces
 * (`in` closed) before it exits. Errors go to stderr. Never returns.
 */
static void userns_child(int in, int out, const char *hostname, char *sysctls, int flags) {
  char go, line[64];
  if (unshare(CLONE_NEWUSER) < 0) fprintf(stderr, "unshare(CLONE_NEWUSER): %s\n", strerror(errno)), _exit(1);
  if (write_all(out, "U\n", 2) < 0 || read(in, &go, 1) != 1) _exit(1);
  /* Root of the pod's namespace (host ID HOST): the sysctl files of the new namespaces belong to it. */
  if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) fprintf(stderr, "become the user namespace's root: %s\n", strerror(errno)), _exit(1);
  int pid_ns = flags & SANDBOX_SHARE_PID ? CLONE_NEWPID : 0;
  if (unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | pid_ns) < 0) fprintf(stderr, "unshare: %s\n", strerror(errno)), _exit(1);
  if (init_namespaces(hostname, sysctls)) _exit(1);
  pid_t init = 0;
  if (pid_ns && (init = fork_pod_init()) < 0) fprintf(stderr, "fork pod init: %s\n", strerror(errno)), _exit(1);
  snprintf(line, sizeof line, "O %d\n", (int)init);
  write_all(out, line, strlen(line));
  while (read(in, &go, 1) > 0) {
  }
  _exit(0);
}

/* Reads one line from fd into buf; returns its length (0 on EOF). */
static int read_line(int fd, char *buf, size_t n) {
  size_t len = 0;
  while (len + 1 < n) {
    ssize_t r = read(fd, buf + len, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0 || buf[len] == '\n') break;
    len++;
  }
  buf[len] = 0;
  return (int)len;
}

/* create_sandbox with a user namespace: the namespaces are made by a child (userns_child) whose ID maps this process writes. */
static int create_sandbox_userns(const char *dir, const char *hostname, const struct sandbox_opts *o) {
  int to[2], from[2];
  char *sysctls;
  /* Read here: the child, the pod's root, may not read the sandbox's directory. */
  if (load_sysctls(dir, &sysctls) < 0) return remove_sandbox(dir), 1;
  if (create_ns_files(dir, 1) < 0) return fail(dir, "create ns file");
  if (pipe2(to, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0) return fail(dir, "pipe");
  pid_t child = fork();
  if (child < 0) return fail(dir, "fork");
  if (child == 0) {
    close(to[1]);
    close(from[0]);
    userns_child(to[0], from[1], hostname, sysctls, o->flags);
  }
  free(sysctls);
  close(to[0]);
  close(from[1]);
  char line[64], failed[PATH_MAX + 32] = "";
  const char *step = NULL;
  pid_t init = 0;
  if (read_line(from[0], line, sizeof line) != 1 || line[0] != 'U') step = "";
  else if ((step = write_id_maps(child, o->userns_host, o->userns_len))) {
  } else if (write_all(to[1], "M", 1) < 0 || read_line(from[0], line, sizeof line) < 3 || line[0] != 'O') step = "";
  else if ((init = (pid_t)atoi(line + 2)) > 0 && hold_pod_init(dir, init) != 0) step = "";
  else if (hold_namespaces(dir, child, 1, failed, sizeof failed) < 0) step = failed;
  int saved = errno;
  close(to[1]);
  close(from[0]);
  waitpid(child, NULL, 0);
  if (!step) return 0;
  /* "": the child (or hold_pod_init) has already said what failed on stderr. */
  if (!*step) {
    if (init > 0) kill(init, SIGKILL);
    remove_sandbox(dir);
    return 1;
  }
  if (init > 0) kill(init, SIGKILL);
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
 * SANDBOX_USERNS: a user namespace for the pod (Kubernetes hostUsers:
 * false), on DIR/user, owning the others; never with SANDBOX_HOST_IPC.
 */
__attribute__((unused)) static int create_sandbox(const char *dir, const char *hostname, const struct sandbox_opts *o) {
  char failed[PATH_MAX + 32];
  if (o->flags & SANDBOX_USERNS) return create_sandbox_userns(dir, hostname, o);
  int host_ipc = o->flags & SANDBOX_HOST_IPC;
  char *sysctls;
  if (load_sysctls(dir, &sysctls) < 0) return remove_sandbox(dir), 1;
  if (create_ns_files(dir, 0) < 0) return fail(dir, "create ns file");
  int pid_ns = o->flags & SANDBOX_SHARE_PID ? CLONE_NEWPID : 0;
  if (unshare(CLONE_NEWNET | (host_ipc ? 0 : CLONE_NEWIPC) | CLONE_NEWUTS | pid_ns) < 0) return fail(dir, "unshare");
  if (init_namespaces(hostname, sysctls)) {
    remove_sandbox(dir);
    return 1;
  }
  if (hold_namespaces(dir, 0, 0, failed, sizeof failed) < 0) return fail(dir, failed);
  return pid_ns ? start_pod_init(dir) : 0;
}

/* The options words after HOSTNAME ("hostipc", "sharepid", "userns=HOST:LEN"); -1 for an unknown or bad one. */
__attribute__((unused)) static int parse_sandbox_opts(char **words, int n, struct sandbox_opts *o) {
  memset(o, 0, sizeof *o);
  for (int i = 0; i < n; i++) {
    if (!strcmp(words[i], "hostipc")) o->flags |= SANDBOX_HOST_IPC;
    else if (!strcmp(words[i], "sharepid")) o->flags |= SANDBOX_SHARE_PID;
    else if (!strncmp(words[i], "userns=", 7) && parse_id_range(words[i] + 7, &o->userns_host, &o->userns_len) == 0)
      o->flags |= SANDBOX_USERNS;
    else return -1;
  }
  /* The node's IPC namespace belongs to the node's user namespace: Kubernetes forbids the pair. */
  if ((o->flags & SANDBOX_USERNS) && (o->flags & SANDBOX_HOST_IPC)) return -1;
  return 0;
}

#endif
