/*
 * tsk-exec: runs a process inside a running container.
 *
 *   tsk-exec [-t [-r FD]] [-i] -p PID [-c CGROUP_DIR]... [-e K=V]... [-w CWD]
 *            [-u UID] [-g GID] [-G GID]... [-C CAPS_HEX] [-N] [-S SECCOMP_FILE]
 *            -- CMD [ARG...]
 *
 * Joins the container's cgroups, then its IPC, UTS, network, PID and mount
 * namespaces (those of its init, PID), and last its user namespace when it
 * has one of its own (a pod with hostUsers: false; joined last because the
 * mount namespace belongs to the node's user namespace), forks so that the child is inside the
 * PID namespace, and there switches user, cuts capabilities, sets
 * no_new_privs (-N) and the container's seccomp filter (-S, tsk-privs.h) and
 * execs. With -t the child gets a pty from the container's
 * own devpts, and this process relays it to its stdin/stdout (raw mode when
 * stdin is a terminal). With -r, FD carries terminal sizes as lines
 * "COLUMNS ROWS" (the API's resize messages), set on the pty as they come.
 * Without -i the child's stdin is /dev/null.
 * SIGTERM or SIGHUP to tsk-exec kills the command (SIGKILL).
 * Exit status: the command's, 128+signal if it was killed, 126/127 when it
 * could not be run (as docker exec).
 */
#include "tsk-common.h"
#include "tsk-privs.h"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>

static void die(int code, const char *step);

/*
 * The user namespace of PID when it is not ours (a pod's own, hostUsers:
 * false), as an fd; -1 when it is ours. Opened before the mount namespace
 * is joined: /proc/PID is the node's /proc.
 */
static int open_user_namespace(pid_t pid) {
  char path[64];
  struct stat ours, theirs;
  snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
  if (stat("/proc/self/ns/user", &ours) < 0 || stat(path, &theirs) < 0) die(125, "stat user namespace");
  if (ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev) return -1;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(125, path);
  return fd;
}

static void die(int code, const char *step) {
  fprintf(stderr, "tsk-exec: %s: %s\n", step, strerror(errno));
  exit(code);
}

static volatile sig_atomic_t winch = 1;
static void on_winch(int sig) {
  (void)sig;
  winch = 1;
}

/* The command: killed when this process is told to stop (SIGTERM, SIGHUP), so
 * ending an exec session (the kubelet, a probe's timeout) never leaves it
 * running in the container without its stdio. */
static volatile pid_t exec_child = 0;
static void on_stop(int sig) {
  (void)sig;
  if (exec_child > 0) kill(exec_child, SIGKILL);
}

/* -r: where terminal sizes come from, -1 for none. */
static int resize_fd = -1;

/* Sets the pty's size from each whole "COLUMNS ROWS" line read from resize_fd; -1 at its end. */
static void read_resizes(int master) {
  static char line[64];
  static size_t len = 0;
  char buf[256];
  ssize_t r = read(resize_fd, buf, sizeof buf);
  if (r <= 0) {
    if (r < 0 && errno == EINTR) return;
    close(resize_fd);
    resize_fd = -1;
    return;
  }
  for (ssize_t i = 0; i < r; i++) {
    if (buf[i] != '\n') {
      if (len < sizeof line - 1) line[len++] = buf[i];
      continue;
    }
    line[len] = '\0';
    len = 0;
    unsigned cols, rows;
    if (sscanf(line, "%u %u", &cols, &rows) == 2 && cols <= 0xffff && rows <= 0xffff) {
      struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
      ioctl(master, TIOCSWINSZ, &ws);
    }
  }
}

static int relay(int master, int interactive) {
  struct termios saved;
  int raw = interactive && isatty(0) && tcgetattr(0, &saved) == 0;
  if (raw) {
    struct termios t = saved;
    cfmakeraw(&t);
    tcsetattr(0, TCSANOW, &t);
  }
  signal(SIGWINCH, on_winch);
  int in_open = interactive;
  char buf[16384];
  for (;;) {
    if (winch && isatty(0)) {
      struct winsize ws;
      if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
      winch = 0;
    }
    struct pollfd pf[3] = {{master, POLLIN, 0}, {in_open ? 0 : -1, POLLIN, 0}, {resize_fd, POLLIN, 0}};
    if (poll(pf, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pf[0].revents) {
      ssize_t r = read(master, buf, sizeof buf);
      if (r <= 0) break; /* EIO: every slave fd closed, the process is gone */
      write_all(1, buf, (size_t)r);
    }
    if (resize_fd >= 0 && pf[2].revents) read_resizes(master);
    if (pf[1].revents) {
      ssize_t r = read(0, buf, sizeof buf);
      if (r <= 0) {
        in_open = 0;
        write_all(master, "\x04", 1); /* EOF to the line discipline */
      } else {
        write_all(master, buf, (size_t)r);
      }
    }
  }
  if (raw) tcsetattr(0, TCSANOW, &saved);
  return 0;
}

int main(int argc, char **argv) {
  struct tsk_list cgroups = {0}, env = {0}, gids_s = {0};
  int tty = 0, interactive = 0, opt;
  pid_t pid = 0;
  const char *cwd = "/";
  uid_t uid = 0;
  gid_t gid = 0;
  unsigned long long caps = 0;
  int no_new_privs = 0;
  const char *seccomp = NULL;
  while ((opt = getopt(argc, argv, "tir:p:c:e:w:u:g:G:C:NS:")) != -1) {
    switch (opt) {
      case 't': tty = 1; break;
      case 'r': resize_fd = atoi(optarg); break;
      case 'i': interactive = 1; break;
      case 'p': pid = (pid_t)atoi(optarg); break;
      case 'c': list_add(&cgroups, optarg); break;
      case 'e': list_add(&env, optarg); break;
      case 'w': cwd = optarg; break;
      case 'u': uid = (uid_t)strtoul(optarg, NULL, 10); break;
      case 'g': gid = (gid_t)strtoul(optarg, NULL, 10); break;
      case 'G': list_add(&gids_s, optarg); break;
      case 'C': caps = strtoull(optarg, NULL, 16); break;
      case 'N': no_new_privs = 1; break;
      case 'S': seccomp = optarg; break;
      default: fprintf(stderr, "tsk-exec: bad flag\n"); return 125;
    }
  }
  if (pid <= 0 || optind >= argc) {
    fprintf(stderr, "usage: tsk-exec [-t] [-i] -p PID ... -- CMD [ARG...]\n");
    return 125;
  }
  char **cmd = argv + optind;
  /* The command must not inherit the resize pipe. */
  if (resize_fd >= 0 && fcntl(resize_fd, F_SETFD, FD_CLOEXEC) < 0) die(125, "resize fd");
  char seccomp_err[PATH_MAX + 128];
  char *seccomp_text = read_seccomp_file(seccomp, seccomp_err, sizeof seccomp_err);
  if (seccomp && !seccomp_text) {
    fprintf(stderr, "tsk-exec: %s\n", seccomp_err);
    return 125;
  }

  static const struct {
    const char *name;
    int type;
  } nss[] = {{"ipc", CLONE_NEWIPC},  {"uts", CLONE_NEWUTS},       {"net", CLONE_NEWNET},
             {"pid", CLONE_NEWPID},  {"cgroup", CLONE_NEWCGROUP}, {"mnt", CLONE_NEWNS}};
  /* The cgroup namespace after the cgroups are joined: the exec'd process sees what the init sees (its own, or the node's on cgroup v1). */
  enum { NSS = sizeof nss / sizeof nss[0] };
  int fds[NSS];
  char path[PATH_MAX];
  for (int i = 0; i < NSS; i++) {
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, nss[i].name);
    fds[i] = open(path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) die(125, path);
  }
  int userns_fd = open_user_namespace(pid);
  for (int i = 0; i < cgroups.n; i++)
    if (join_cgroup(cgroups.v[i]) < 0) die(125, "join cgroup");
  for (int i = 0; i < NSS; i++) {
    if (setns(fds[i], nss[i].type) < 0) {
      snprintf(path, sizeof path, "setns(%s)", nss[i].name);
      die(125, path);
    }
    close(fds[i]);
  }
  if (userns_fd >= 0 && setns(userns_fd, CLONE_NEWUSER) < 0) die(125, "setns(user)");

  int master = -1, slave = -1;
  if (tty) {
    master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) die(125, "open /dev/ptmx");
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0) die(125, "unlockpt");
    slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (slave < 0) die(125, "open pty peer");
  }

  pid_t child = fork();
  if (child < 0) die(125, "fork");
  if (child == 0) {
    if (tty) {
      setsid();
      if (ioctl(slave, TIOCSCTTY, 0) < 0) die(125, "TIOCSCTTY");
      dup2(slave, 0);
      dup2(slave, 1);
      dup2(slave, 2);
      if (slave > 2) close(slave);
    } else if (!interactive) {
      int dn = open("/dev/null", O_RDONLY);
      if (dn >= 0) dup2(dn, 0);
    }
    gid_t gids[TSK_MAX_LIST];
    for (int i = 0; i < gids_s.n; i++) gids[i] = (gid_t)strtoul(gids_s.v[i], NULL, 10);
    if (chdir(cwd) < 0) die(126, "chdir");
    char *exe = lookup_path(cmd[0], env.v);
    if (!exe) {
      fprintf(stderr, "tsk-exec: exec: \"%s\": executable file not found in $PATH\n", cmd[0]);
      _exit(127);
    }
    struct privs p = {uid, gid, gids_s.n, gids, caps, no_new_privs, seccomp_text, NULL};
    char detail[1024];
    const char *step = drop_privileges(&p, detail, sizeof detail);
    if (step && detail[0]) {
      fprintf(stderr, "tsk-exec: %s: %s\n", step, detail);
      _exit(126);
    }
    if (step) die(126, step);
    execve(exe, cmd, env.v);
    die(126, "exec");
  }
  exec_child = child;
  signal(SIGTERM, on_stop);
  signal(SIGHUP, on_stop);
  if (tty) {
    close(slave);
    relay(master, interactive);
  }
  int status;
  while (waitpid(child, &status, 0) < 0)
    if (errno != EINTR) die(125, "waitpid");
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
