/*
 * tsk-shim: creates one container and supervises it.
 *
 *   tsk-shim STATE_DIR [--reqid ID]   (ID: started by tsk-launcher, which see)
 *
 * Reads STATE_DIR/spec (written by the TypeScript runtime), then:
 *   A (this process)  forks B and waits for it to report "created" or an
 *                     error, prints the container's host pid (or the error on
 *                     stderr) and exits. Only A has pipes to the caller.
 *   B (the shim)      setsid, detached, stdio on /dev/null: clones C into new
 *                     mount and PID namespaces (or, for a pod that shares
 *                     its PID namespace, joins the sandbox's first, so C is
 *                     one more process there and not its PID 1), holds C's stdout/stderr, writes
 *                     them as CRI log lines (rotated by size), and records the
 *                     start time, exit code, signal and OOM kill in STATE_DIR.
 *                     On cgroup v2 it first attaches the device filter
 *                     (tsk-devices.h) to the container's cgroup.
 *   C (the container) joins its cgroups first, then the sandbox's network,
 *                     IPC and UTS namespaces, mounts the overlay rootfs, /proc,
 *                     /dev, /sys, bind-mounts /etc/hosts etc., pivot_roots,
 *                     masks /proc paths, resolves the command, and blocks on
 *                     STATE_DIR/exec.fifo until "start" writes a byte to it
 *                     (runc's exec fifo, turned around so it cannot race).
 *                     Then it switches user, cuts capabilities, sets
 *                     no_new_privs, loads the seccomp filter and execs
 *                     (tsk-privs.h). In a pod with a user namespace
 *                     (hostUsers: false) it mounts the overlay on idmapped
 *                     layers, makes every file as the pod's root, and
 *                     enters the namespace right before it switches user
 *                     (tsk-userns.h). Its oom_score_adj is the spec's, not
 *                     the shim's own low score.
 *
 * With stdin or tty (Kubernetes' stdin, stdinOnce, tty), B also listens on
 * STATE_DIR/attach.sock (tsk-attach.h) and holds the container's stdin: a
 * pipe whose write end only B has, or, with tty, a terminal that C opens in
 * the container's own devpts after pivot_root (its slave as C's stdio and
 * controlling terminal) and whose master C hands B over a socket pair, as
 * runc's console socket. A terminal's output is the log's stdout, lines
 * ending "\r\n" logged without the "\r" (containerd's CRI logger).
 *
 * Every error names its step or syscall ("pivot_root: Invalid argument").
 * Files written in STATE_DIR: shim.pid, pid, started, exit (all atomically).
 */
#include "tsk-common.h"
#include "tsk-attach.h"
#include "tsk-devices.h"
#include "tsk-mounts.h"
#include "tsk-privs.h"
#include "tsk-userns.h"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#ifndef MNT_DETACH
#define MNT_DETACH 2
#endif

struct spec {
  struct tsk_list lower, cgroup, arg, env, gids, mask, ro, device;
  struct tsk_list bind_src, bind_dst, bind_ro, bind_sub, bind_idmap; /* parallel: one entry of each per mount */
  char *device_cgroup; /* cgroup v2: attach the device filter (rules: device) here */
  char *cgroup_mount;  /* cgroup v2: "ro" or "rw": a cgroup namespace and cgroup2 at /sys/fs/cgroup; NULL: neither */
  char *upper, *work, *rootfs, *netns, *ipcns, *utsns, *oom_file;
  char *pidns; /* the pod's shared PID namespace (shareProcessNamespace); NULL: one of its own */
  char *userns; /* the pod's user namespace (hostUsers: false); NULL: the node's */
  unsigned long userns_root; /* with userns: the host ID of the pod's root (uid and gid) */
  char *cwd, *hosts, *resolv, *hostname_file, *log;
  char *seccomp;  /* seccomp file (tsk-privs.h); NULL: no filter */
  char *seccomp_text; /* its contents, read before the container is made */
  char *seccomp_cache; /* where compiled filters are kept (seccomp_bpf_cached); NULL: none */
  struct sock_fprog *seccomp_bpf; /* the text compiled, from that cache; NULL: built in the init */
  char *oom_score_adj;
  int no_new_privs, readonly_rootfs, privileged;
  int host_pid; /* Kubernetes hostPID: no PID namespace of its own */
  int stdin_open, stdin_once, tty; /* Kubernetes stdin, stdinOnce, tty (tsk-attach.h) */
  uid_t uid;
  gid_t gid;
  unsigned long long caps;
  long long log_max_bytes;
  int log_max_files;
};

static const char *state_dir;

static int parse_spec(char *text, struct spec *s) {
  memset(s, 0, sizeof *s);
  s->cwd = "/";
  s->log_max_bytes = 10 * 1024 * 1024;
  s->log_max_files = 5;
  s->caps = 0;
  s->no_new_privs = 1;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *v = strchr(line, ' ');
    if (!v) continue;
    *v++ = 0;
    unescape(v);
    if (!strcmp(line, "lower")) list_add(&s->lower, v);
    else if (!strcmp(line, "cgroup")) list_add(&s->cgroup, v);
    else if (!strcmp(line, "arg")) list_add(&s->arg, v);
    else if (!strcmp(line, "env")) list_add(&s->env, v);
    else if (!strcmp(line, "gid_extra")) list_add(&s->gids, v);
    else if (!strcmp(line, "mask")) list_add(&s->mask, v);
    else if (!strcmp(line, "ro")) list_add(&s->ro, v);
    else if (!strcmp(line, "device")) list_add(&s->device, v);
    else if (!strcmp(line, "bind_src")) list_add(&s->bind_src, v);
    else if (!strcmp(line, "bind_dst")) list_add(&s->bind_dst, v);
    else if (!strcmp(line, "bind_ro")) list_add(&s->bind_ro, v);
    else if (!strcmp(line, "bind_sub")) list_add(&s->bind_sub, v);
    else if (!strcmp(line, "bind_idmap")) list_add(&s->bind_idmap, v);
    else if (!strcmp(line, "device_cgroup")) s->device_cgroup = v;
    else if (!strcmp(line, "upper")) s->upper = v;
    else if (!strcmp(line, "work")) s->work = v;
    else if (!strcmp(line, "rootfs")) s->rootfs = v;
    else if (!strcmp(line, "netns")) s->netns = v;
    else if (!strcmp(line, "ipcns")) s->ipcns = v;
    else if (!strcmp(line, "utsns")) s->utsns = v;
    else if (!strcmp(line, "pidns")) s->pidns = v;
    else if (!strcmp(line, "userns")) s->userns = v;
    else if (!strcmp(line, "userns_root")) s->userns_root = strtoul(v, NULL, 10);
    else if (!strcmp(line, "oom_file")) s->oom_file = v;
    else if (!strcmp(line, "cgroup_mount")) s->cgroup_mount = v;
    else if (!strcmp(line, "cwd")) s->cwd = v;
    else if (!strcmp(line, "hosts")) s->hosts = v;
    else if (!strcmp(line, "resolv")) s->resolv = v;
    else if (!strcmp(line, "hostname_file")) s->hostname_file = v;
    else if (!strcmp(line, "log")) s->log = v;
    else if (!strcmp(line, "seccomp")) s->seccomp = v;
    else if (!strcmp(line, "seccomp_cache")) s->seccomp_cache = v;
    else if (!strcmp(line, "oom_score_adj")) s->oom_score_adj = v;
    else if (!strcmp(line, "no_new_privs")) s->no_new_privs = atoi(v);
    else if (!strcmp(line, "readonly_rootfs")) s->readonly_rootfs = atoi(v);
    else if (!strcmp(line, "privileged")) s->privileged = atoi(v);
    else if (!strcmp(line, "host_pid")) s->host_pid = atoi(v);
    else if (!strcmp(line, "stdin")) s->stdin_open = atoi(v);
    else if (!strcmp(line, "stdin_once")) s->stdin_once = atoi(v);
    else if (!strcmp(line, "tty")) s->tty = atoi(v);
    else if (!strcmp(line, "uid")) s->uid = (uid_t)strtoul(v, NULL, 10);
    else if (!strcmp(line, "gid")) s->gid = (gid_t)strtoul(v, NULL, 10);
    else if (!strcmp(line, "caps")) s->caps = strtoull(v, NULL, 16);
    else if (!strcmp(line, "log_max_bytes")) s->log_max_bytes = atoll(v);
    else if (!strcmp(line, "log_max_files")) s->log_max_files = atoi(v);
  }
  if (s->arg.n == 0) return -1;
  if (s->bind_src.n != s->bind_dst.n || s->bind_src.n != s->bind_ro.n || s->bind_src.n != s->bind_sub.n ||
      s->bind_src.n != s->bind_idmap.n)
    return -2;
  if (s->userns && !s->userns_root) return -3;
  return 0;
}

/* ---------------------------------------------------------------- C: init */

static int sync_w = -1;

static void init_fail_msg(const char *msg) {
  char buf[2048];
  int n = snprintf(buf, sizeof buf, "E %s\n", msg);
  write_all(sync_w, buf, (size_t)n);
  _exit(127);
}

static void init_fail(const char *step) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s: %s", step, strerror(errno));
  init_fail_msg(buf);
}

static void init_failp(const char *step, const char *path) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s %s: %s", step, path, strerror(errno));
  init_fail_msg(buf);
}

static void mount_or_fail(const char *src, const char *dst, const char *type, unsigned long flags,
                          const char *data) {
  if (mount(src, dst, type, flags, data) < 0) {
    char step[512];
    snprintf(step, sizeof step, "mount %s on /%s", type ? type : src, dst);
    init_fail(step);
  }
}

static void mkdir_p(const char *path, mode_t mode) {
  char buf[PATH_MAX];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    mkdir(buf, mode);
    *p = '/';
  }
  mkdir(buf, mode);
}

static void join_namespace(const char *path, int type, const char *name) {
  if (!path) return;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) init_failp("open namespace", path);
  if (setns(fd, type) < 0) {
    char step[64];
    snprintf(step, sizeof step, "setns(%s)", name);
    init_fail(step);
  }
  close(fd);
}

/*
 * With a user namespace, each layer and the directory of the upper and work
 * dirs (overlayfs wants both on one mount) are covered, in this mount
 * namespace only, by idmapped views of themselves: the overlay built on them
 * shows the image's files as the pod's, and what the pod writes lands in the
 * upper dir with the image's IDs (root's files as 0).
 */
static void idmap_layers(struct spec *s, int userns_fd) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", s->upper);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir || strncmp(s->work, dir, (size_t)(slash - dir)) || s->work[slash - dir] != '/')
    init_fail_msg("idmap layers: upper and work must share their parent directory");
  *slash = 0;
  const char *step;
  for (int i = 0; i < s->lower.n; i++)
    if ((step = idmap_in_place(s->lower.v[i], userns_fd))) init_failp(step, s->lower.v[i]);
  if ((step = idmap_in_place(dir, userns_fd))) init_failp(step, dir);
}

static void mount_overlay(struct spec *s) {
  char opts[8192];
  size_t off = (size_t)snprintf(opts, sizeof opts, "lowerdir=");
  for (int i = 0; i < s->lower.n; i++)
    off += (size_t)snprintf(opts + off, sizeof opts - off, "%s%s", i ? ":" : "", s->lower.v[i]);
  off += (size_t)snprintf(opts + off, sizeof opts - off, ",upperdir=%s,workdir=%s", s->upper, s->work);
  if (off >= 4000) init_fail_msg("mount overlay: lowerdir option longer than a page (too many layers)");
  if (mount("overlay", s->rootfs, "overlay", 0, opts) < 0) init_fail("mount overlay rootfs");
}

/*
 * The tmpfs options of /dev and /dev/shm, and devpts's: with a user
 * namespace, the pod's root owns them (and tty is its group 5), as when the
 * namespace's root mounts them itself.
 */
static const char *dev_opts(struct spec *s, char *buf, size_t n, const char *base) {
  if (!s->userns) return base;
  snprintf(buf, n, "%s,uid=%lu,gid=%lu", base, s->userns_root, s->userns_root);
  return buf;
}

static void make_dev(struct spec *s) {
  static const struct {
    const char *name;
    unsigned maj, min;
  } devs[] = {{"dev/null", 1, 3}, {"dev/zero", 1, 5}, {"dev/full", 1, 7},
              {"dev/random", 1, 8}, {"dev/urandom", 1, 9}, {"dev/tty", 5, 0}};
  char o[256];
  mkdir("dev", 0755);
  mount_or_fail("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, dev_opts(s, o, sizeof o, "mode=755,size=65536k"));
  for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++)
    if (mknod(devs[i].name, S_IFCHR | 0666, makedev(devs[i].maj, devs[i].min)) < 0) init_failp("mknod", devs[i].name);
  mkdir("dev/pts", 0755);
  if (s->userns) snprintf(o, sizeof o, "newinstance,ptmxmode=0666,mode=0620,gid=%lu", s->userns_root + 5);
  mount_or_fail("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, s->userns ? o : "newinstance,ptmxmode=0666,mode=0620,gid=5");
  mkdir("dev/shm", 01777);
  mount_or_fail("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, dev_opts(s, o, sizeof o, "mode=1777,size=65536k"));
  if (symlink("pts/ptmx", "dev/ptmx") < 0 || symlink("/proc/self/fd", "dev/fd") < 0 ||
      symlink("/proc/self/fd/0", "dev/stdin") < 0 || symlink("/proc/self/fd/1", "dev/stdout") < 0 ||
      symlink("/proc/self/fd/2", "dev/stderr") < 0)
    init_fail("symlink /dev");
}

/*
 * Privileged containers: a node for every device of the host's /dev (runc's
 * HostDevices, which Docker's --privileged uses), same numbers, mode and
 * owner, made under the container's dev/ (rootfs-relative `rel`). The
 * host's /dev is still "/dev" here: pivot_root has not happened yet.
 * Skips what the container has of its own (pts, shm, mqueue) and never
 * replaces a node already made.
 */
#include <dirent.h>
static void copy_host_devices(const char *host, const char *rel, int depth) {
  static const char *skip[] = {"pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"};
  DIR *d = opendir(host);
  if (!d || depth > 8) {
    if (d) closedir(d);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
    int skipped = 0;
    for (size_t i = 0; depth == 0 && i < sizeof skip / sizeof skip[0]; i++) skipped |= !strcmp(e->d_name, skip[i]);
    if (skipped) continue;
    char src[PATH_MAX], dst[PATH_MAX];
    snprintf(src, sizeof src, "%s/%s", host, e->d_name);
    snprintf(dst, sizeof dst, "%s/%s", rel, e->d_name);
    struct stat st;
    if (lstat(src, &st) < 0) continue;
    if (S_ISDIR(st.st_mode)) {
      mkdir(dst, st.st_mode & 07777);
      copy_host_devices(src, dst, depth + 1);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      if (mknod(dst, st.st_mode, st.st_rdev) < 0) {
        if (errno == EEXIST) continue;
        init_failp("mknod host device", dst);
      }
      if (chown(dst, st.st_uid, st.st_gid) < 0) init_failp("chown host device", dst);
    }
  }
  closedir(d);
}

/*
 * Bind-mounts a runtime-written file over rootfs-relative dst, replacing a
 * symlink (never followed to the host). A regular file already there is
 * only the mount point and is not opened: opening an image's file for
 * writing makes overlayfs copy it up (a new file, a copy and an fsync per
 * container start), as runc's createIfNotExists also avoids.
 */
static void bind_file(const char *src, const char *dst) {
  if (!src) return;
  struct stat st;
  int have = lstat(dst, &st) == 0;
  if (have && !S_ISREG(st.st_mode)) {
    unlink(dst);
    have = 0;
  }
  if (!have) {
    int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) init_failp("create bind target", dst);
    close(fd);
  }
  if (mount(src, dst, NULL, MS_BIND, NULL) < 0) init_failp("bind mount", dst);
}

static void mask_paths(struct spec *s) {
  for (int i = 0; i < s->mask.n; i++) {
    struct stat st;
    const char *p = s->mask.v[i];
    if (stat(p, &st) < 0) continue;
    int rc = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0")
                                 : mount("/dev/null", p, NULL, MS_BIND, NULL);
    if (rc < 0) init_failp("mask", p);
  }
  for (int i = 0; i < s->ro.n; i++) {
    const char *p = s->ro.v[i];
    if (access(p, F_OK) < 0) continue;
    if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0 ||
        mount(p, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) < 0)
      init_failp("readonly", p);
  }
}

/*
 * cgroup2 at sys/fs/cgroup (sysfs has the directory), showing the cgroup
 * namespace's root and below: read-only, or read-write for
 * cgroupOptions.mountMode ReadWrite (KEP-5474), never exec, suid or devices.
 */
static void mount_cgroup(struct spec *s) {
  if (!s->cgroup_mount) return;
  int rw = !strcmp(s->cgroup_mount, "rw");
  if (!rw && strcmp(s->cgroup_mount, "ro")) init_fail_msg("spec: cgroup_mount is neither ro nor rw");
  mount_or_fail("cgroup2", "sys/fs/cgroup", "cgroup2", (rw ? 0 : MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/* The spec's mounts, in order, into the rootfs (the current directory). */
static void bind_mounts(struct spec *s, int userns_fd) {
  if (s->bind_src.n == 0) return;
  int rootfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) init_fail("open rootfs");
  for (int i = 0; i < s->bind_src.n; i++) {
    int ro = parse_read_only(s->bind_ro.v[i]);
    if (ro < 0) {
      char msg[1024];
      snprintf(msg, sizeof msg, "mount %d: bad bind_ro \"%s\"", i, s->bind_ro.v[i]);
      init_fail_msg(msg);
    }
    int idmap = !strcmp(s->bind_idmap.v[i], "1");
    if (idmap && userns_fd < 0) init_fail_msg("spec: an idmapped mount without a user namespace");
    struct bind_mount m = {s->bind_src.v[i], s->bind_dst.v[i], s->bind_sub.v[i], (enum read_only)ro, idmap ? userns_fd : -1};
    const char *step = bind_into_root(rootfd, &m);
    if (step) {
      char msg[2048];
      snprintf(msg, sizeof msg, "mount %d (%s%s%s on %s%s%s): %s: %s", i, m.src, *m.sub ? " subPath " : "", m.sub, m.dst,
               m.readonly == RO_NO ? "" : m.readonly == RO_YES ? ", read-only" : ", recursive read-only",
               idmap ? ", idmapped" : "", step, strerror(errno));
      init_fail_msg(msg);
    }
  }
  close(rootfd);
}

/* Sends fd over a unix socket (SCM_RIGHTS). */
static int send_fd(int sock, int fd) {
  char byte = 'T';
  struct iovec iov = {&byte, 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

/* Receives the fd send_fd sent; -1 when none came. */
static int recv_fd(int sock) {
  char byte;
  struct iovec iov = {&byte, 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t r;
  while ((r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  struct cmsghdr *cm = r == 1 ? CMSG_FIRSTHDR(&msg) : NULL;
  if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int))) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  return fd;
}

/*
 * tty: a terminal from the container's own devpts (mounted by make_dev, so
 * the pod sees /dev/pts/0), also at /dev/console, owned by the container's
 * user (runc's mountConsole and fixStdioPermissions), its slave as stdio and
 * controlling terminal of a new session; the master goes to the shim over sock.
 */
static void open_terminal(struct spec *s, int sock) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) init_fail("open /dev/ptmx");
  int unlock = 0, n = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) init_fail("unlockpt");
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0) init_fail("open pty peer");
  if (ioctl(master, TIOCGPTN, &n) < 0) init_fail("TIOCGPTN");
  char pts[64];
  snprintf(pts, sizeof pts, "/dev/pts/%d", n);
  int fd = open("/dev/console", O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) init_fail("create /dev/console");
  close(fd);
  if (mount(pts, "/dev/console", NULL, MS_BIND, NULL) < 0) init_failp("bind mount /dev/console to", pts);
  uid_t owner = s->userns ? (uid_t)(s->userns_root + s->uid) : s->uid;
  if (fchown(slave, owner, (gid_t)-1) < 0) init_fail("chown the terminal to the container's user");
  if (send_fd(sock, master) < 0) init_fail("send the terminal to the shim");
  close(master);
  close(sock);
  if (setsid() < 0) init_fail("setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0) init_fail("TIOCSCTTY");
  if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0) init_fail("dup2 terminal");
  if (slave > 2) close(slave);
}

/* stdio: the stdin pipe's read end (-1: /dev/null), the output pipes, and with tty the socket for the terminal (-1: none). */
struct init_fds {
  int in_r, out_w, err_w, tty_w;
};

static void container_init(struct spec *s, struct init_fds io) {
  /* The cgroup first: every page and process from here on is accounted and limited. */
  for (int i = 0; i < s->cgroup.n; i++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cgroup.procs", s->cgroup.v[i]);
    if (write_file(path, "0") < 0) init_failp("join cgroup", s->cgroup.v[i]);
  }
  /*
   * A cgroup namespace rooted at the cgroup just joined: the container sees
   * it as "/" in /proc/self/cgroup and in its cgroup2 mount, and nothing
   * above it (where the kubelet's limits are).
   */
  if (s->cgroup_mount && unshare(CLONE_NEWCGROUP) < 0) init_fail("unshare cgroup namespace");
  /*
   * The container's own OOM score (by QoS class), not the shim's -998 it
   * inherited. Where lowering a score is not allowed (no CAP_SYS_RESOURCE,
   * e.g. inside another container), a lower request is clamped to the current
   * score, as Podman does rootless.
   */
  if (s->oom_score_adj && write_file("/proc/self/oom_score_adj", s->oom_score_adj) < 0) {
    char *cur = read_file("/proc/self/oom_score_adj");
    int lower = cur && atoi(s->oom_score_adj) < atoi(cur);
    free(cur);
    if (!(errno == EACCES && lower)) init_fail("write oom_score_adj");
  }
  join_namespace(s->netns, CLONE_NEWNET, "net");
  join_namespace(s->ipcns, CLONE_NEWIPC, "ipc");
  join_namespace(s->utsns, CLONE_NEWUTS, "uts");
  /* Joined last, just before the exec (join_user_namespace): until then the init needs the node's privileges for its mounts. */
  int userns_fd = -1;
  if (s->userns && (userns_fd = open(s->userns, O_RDONLY | O_CLOEXEC)) < 0) init_failp("open user namespace", s->userns);
  if (userns_fd >= 0 && create_as(s->userns_root) < 0) init_fail("create files as the pod's root (setfsuid, capset)");

  int devnull = open("/dev/null", O_RDONLY);
  if (devnull < 0) init_fail("open /dev/null");
  if (dup2(io.in_r >= 0 ? io.in_r : devnull, 0) < 0 || dup2(io.out_w, 1) < 0 || dup2(io.err_w, 2) < 0) init_fail("dup2 stdio");
  close(devnull);
  if (io.in_r >= 0) close(io.in_r);
  close(io.out_w);
  close(io.err_w);

  char fifo[PATH_MAX];
  snprintf(fifo, sizeof fifo, "%s/exec.fifo", state_dir);
  /*
   * Held read-write so that it never blocks here and never reads EOF: start
   * opens it write-only (ENXIO if we are gone) and writes one byte, which
   * stays in the pipe until we read it, whatever the order of the two.
   */
  int fifo_fd = open(fifo, O_RDWR | O_CLOEXEC);
  if (fifo_fd < 0) init_failp("open", fifo);

  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) init_fail("make / rprivate");
  if (userns_fd >= 0) idmap_layers(s, userns_fd);
  mount_overlay(s);
  if (chdir(s->rootfs) < 0) init_failp("chdir", s->rootfs);
  mkdir("proc", 0555);
  mount_or_fail("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  make_dev(s);
  if (s->privileged) copy_host_devices("/dev", "dev", 0);
  mkdir("sys", 0555);
  /* Read-only but for privileged containers (Docker's --privileged). */
  mount_or_fail("sysfs", "sys", "sysfs", (s->privileged ? 0 : MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  mount_cgroup(s);
  mkdir("etc", 0755);
  bind_file(s->hosts, "etc/hosts");
  bind_file(s->resolv, "etc/resolv.conf");
  bind_file(s->hostname_file, "etc/hostname");
  bind_mounts(s, userns_fd);

  if (syscall(SYS_pivot_root, ".", ".") < 0) init_fail("pivot_root");
  if (umount2(".", MNT_DETACH) < 0) init_fail("umount old root");
  if (chdir("/") < 0) init_fail("chdir /");
  mask_paths(s);
  if (io.tty_w >= 0) open_terminal(s, io.tty_w);

  char *path = lookup_path(s->arg.v[0], s->env.v);
  if (!path) {
    char msg[1024];
    snprintf(msg, sizeof msg, "exec: \"%s\": executable file not found in $PATH", s->arg.v[0]);
    init_fail_msg(msg);
  }
  struct stat st;
  if (stat(s->cwd, &st) < 0) mkdir_p(s->cwd, 0755);
  if (chdir(s->cwd) < 0) init_failp("chdir", s->cwd);
  /* Last, once every mount point and the working dir exist (runc's readonlyfs). */
  if (s->readonly_rootfs && mount("/", "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
    init_fail("remount rootfs read-only");

  /* Created: tell the shim, then wait for "start" to write to the fifo. */
  write_all(sync_w, "O\n", 2);
  char go;
  ssize_t got;
  while ((got = read(fifo_fd, &go, 1)) < 0 && errno == EINTR) {
  }
  if (got != 1) init_fail("read exec fifo");
  close(fifo_fd);
  write_all(sync_w, "S\n", 2);

  gid_t gids[TSK_MAX_LIST];
  for (int i = 0; i < s->gids.n; i++) gids[i] = (gid_t)strtoul(s->gids.v[i], NULL, 10);
  /* chdir while still privileged: the user may not be able to search the path, but may use the dir. */
  if (chdir(s->cwd) < 0) init_failp("chdir", s->cwd);
  signal(SIGPIPE, SIG_DFL);
  /*
   * The pod's user namespace: from here on the init's capabilities are the
   * namespace's only (no module loading, no clock, no host devices), and
   * the user it switches to below is the pod's (host ID = HOST + uid).
   */
  if (userns_fd >= 0 && setns(userns_fd, CLONE_NEWUSER) < 0) init_fail("setns(user)");
  struct privs p = {s->uid, s->gid, s->gids.n, gids, s->caps, s->no_new_privs, s->seccomp_text, s->seccomp_bpf};
  char detail[1024];
  const char *step = drop_privileges(&p, detail, sizeof detail);
  if (step && detail[0]) {
    char msg[1200];
    snprintf(msg, sizeof msg, "%s: %s", step, detail);
    init_fail_msg(msg);
  }
  if (step) init_fail(step);
  execve(path, s->arg.v, s->env.v);
  init_failp("exec", path);
}

/* ---------------------------------------------------------------- B: shim */

#define LINE_MAX_BYTES 16384
#define OUT_BUF 65536

struct stream {
  const char *tag;
  char kind;  /* 'o' or 'e': its frames to attached clients (tsk-attach.h) */
  int crlf;   /* a terminal's output: "\r\n" ends a line */
  int fd;
  size_t len;
  char buf[LINE_MAX_BYTES];
};

struct logger {
  const char *path;
  int fd;
  long long size, max_bytes;
  int max_files;
  size_t out_len;
  char out[OUT_BUF];
};

static void log_open(struct logger *l) {
  l->fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  struct stat st;
  l->size = (l->fd >= 0 && fstat(l->fd, &st) == 0) ? st.st_size : 0;
}

/* Rotates log -> log.1 -> ... -> log.(max_files-1), dropping the oldest. */
static void log_rotate(struct logger *l) {
  char from[PATH_MAX], to[PATH_MAX];
  if (l->fd >= 0) close(l->fd);
  for (int i = l->max_files - 1; i >= 1; i--) {
    if (i == 1) snprintf(from, sizeof from, "%s", l->path);
    else snprintf(from, sizeof from, "%s.%d", l->path, i - 1);
    snprintf(to, sizeof to, "%s.%d", l->path, i);
    rename(from, to);
  }
  if (l->max_files <= 1) unlink(l->path);
  log_open(l);
}

static void log_flush(struct logger *l) {
  if (l->out_len == 0) return;
  if (l->fd >= 0) write_all(l->fd, l->out, l->out_len);
  l->size += (long long)l->out_len;
  l->out_len = 0;
}

/* Rotation is decided per line, so a file never grows past max_bytes (unless one line is longer). */
static void log_line(struct logger *l, const char *ts, const char *tag, char kind, const char *p, size_t n) {
  size_t need = n + 64;
  if (l->max_bytes > 0 && l->size + (long long)(l->out_len + need) > l->max_bytes && l->size + (long long)l->out_len > 0) {
    log_flush(l);
    log_rotate(l);
  }
  if (l->out_len + need > OUT_BUF) log_flush(l);
  l->out_len += (size_t)snprintf(l->out + l->out_len, OUT_BUF - l->out_len, "%s %s %c ", ts, tag, kind);
  memcpy(l->out + l->out_len, p, n);
  l->out_len += n;
  l->out[l->out_len++] = '\n';
}

/* Emits every complete line of the stream's buffer; a full buffer without newline becomes a P line. */
static void stream_emit(struct logger *l, struct stream *s, const char *ts, int eof) {
  size_t start = 0;
  for (size_t i = 0; i < s->len; i++) {
    if (s->buf[i] != '\n') continue;
    size_t end = s->crlf && i > start && s->buf[i - 1] == '\r' ? i - 1 : i;
    log_line(l, ts, s->tag, 'F', s->buf + start, end - start);
    start = i + 1;
  }
  size_t rest = s->len - start;
  if (rest == sizeof s->buf) {
    log_line(l, ts, s->tag, 'P', s->buf + start, rest);
    rest = 0;
  } else if (eof && rest > 0) {
    log_line(l, ts, s->tag, 'F', s->buf + start, rest);
    rest = 0;
  }
  memmove(s->buf, s->buf + s->len - rest, rest);
  s->len = rest;
}

static struct attach att;

/* Reads what is available, for the log and the attached clients; returns 0 on EOF. */
static int stream_read(struct logger *l, struct stream *s) {
  ssize_t r = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
  if (r < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (r > 0) att_broadcast(&att, s->kind, s->buf + s->len, (size_t)r);
  char ts[40];
  now_rfc3339(ts, sizeof ts);
  if (r <= 0) {
    stream_emit(l, s, ts, 1);
    return 0;
  }
  s->len += (size_t)r;
  stream_emit(l, s, ts, 0);
  return 1;
}

static int oom_killed(const char *file) {
  if (!file) return 0;
  char *text = read_file(file);
  if (!text) return 0;
  char *p = strstr(text, "oom_kill ");
  int killed = p && atoll(p + 9) > 0;
  free(text);
  return killed;
}

static char started_at[40];
static char message[1024];

static void record_exit(struct spec *s, int status) {
  char finished[40], buf[2048];
  now_rfc3339(finished, sizeof finished);
  int code = 0, sig = 0;
  if (WIFEXITED(status)) code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) {
    sig = WTERMSIG(status);
    code = 128 + sig;
  }
  for (char *p = message; *p; p++)
    if (*p == '\n') *p = ' ';
  snprintf(buf, sizeof buf, "exit_code %d\nsignal %d\nstarted_at %s\nfinished_at %s\noom_killed %d\nmessage %s\n", code,
           sig, started_at, finished, oom_killed(s->oom_file), message);
  write_file_atomic(state_dir, "exit", buf);
}

/* Reads one short line from the init's sync pipe; returns its length, 0 on EOF. */
static int read_sync(int fd, char *buf, size_t n) {
  size_t len = 0;
  while (len + 1 < n) {
    ssize_t r = read(fd, buf + len, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (buf[len] == '\n') break;
    len++;
  }
  buf[len] = 0;
  return (int)len;
}

/*
 * cgroup v2: restricts device access in the container's cgroup before the
 * init joins it, so not one instruction of the container runs without it.
 * Returns 0, or -1 with an error message in msg.
 */
static int attach_device_filter(struct spec *s, char *msg, size_t n) {
  if (!s->device_cgroup) return 0;
  struct devrule rules[DEV_MAX_RULES];
  if (s->device.n == 0 || s->device.n > DEV_MAX_RULES) {
    snprintf(msg, n, "device filter for %s: %d rules (1 to %d expected)", s->device_cgroup, s->device.n, DEV_MAX_RULES);
    return -1;
  }
  for (int i = 0; i < s->device.n; i++) {
    if (devrule_parse(s->device.v[i], &rules[i]) < 0) {
      snprintf(msg, n, "device filter: bad rule \"%s\"", s->device.v[i]);
      return -1;
    }
  }
  struct bpf_insn prog[DEV_MAX_INSNS];
  int len = devfilter_build(rules, s->device.n, prog);
  char log[1024];
  const char *step = devfilter_attach(s->device_cgroup, prog, len, log, sizeof log);
  if (!step) return 0;
  int saved = errno;
  log[sizeof log - 1] = 0;
  for (char *p = log; *p; p++)
    if (*p == '\n') *p = ' ';
  snprintf(msg, n, "%s %s: %s%s%s", step, s->device_cgroup, strerror(saved), log[0] && saved != EPERM ? ": " : "",
           saved != EPERM ? log : "");
  return -1;
}

/*
 * shareProcessNamespace: B joins the sandbox's PID namespace (setns with
 * CLONE_NEWPID moves only the children to come), so the container's init is
 * cloned into it. Returns 0, or -1 with an "E ..." line in msg.
 */
static int join_pid_namespace(struct spec *s, char *msg, size_t n) {
  if (!s->pidns) return 0;
  int fd = open(s->pidns, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWPID) < 0) {
    snprintf(msg, n, "E %s %s: %s\n", fd < 0 ? "open pod PID namespace" : "setns(pid)", s->pidns, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  close(fd);
  return 0;
}

static void shim(struct spec *s, int report_w) {
  setsid();
  int devnull = open("/dev/null", O_RDWR);
  dup2(devnull, 0);
  dup2(devnull, 1);
  dup2(devnull, 2);
  if (devnull > 2) close(devnull);
  write_file("/proc/self/oom_score_adj", "-998");
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  char buf[PATH_MAX], line[1500];
  snprintf(buf, sizeof buf, "%d\n", (int)getpid());
  write_file_atomic(state_dir, "shim.pid", buf);
  snprintf(buf, sizeof buf, "%s/exec.fifo", state_dir);
  unlink(buf);
  if (mkfifo(buf, 0600) < 0) {
    snprintf(line, sizeof line, "E mkfifo %s: %s\n", buf, strerror(errno));
    write_all(report_w, line, strlen(line));
    _exit(1);
  }
  int outp[2], errp[2], syncp[2];
  if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(syncp, O_CLOEXEC) < 0) {
    snprintf(line, sizeof line, "E pipe: %s\n", strerror(errno));
    write_all(report_w, line, strlen(line));
    _exit(1);
  }
  /* stdin: a pipe whose write end stays here; tty: a socket pair for the terminal's master (open_terminal). */
  int inp[2] = {-1, -1}, ttyp[2] = {-1, -1};
  att_init(&att);
  att.stdin_once = s->stdin_open && s->stdin_once;
  if ((s->stdin_open && !s->tty && pipe2(inp, O_CLOEXEC) < 0) ||
      (s->tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ttyp) < 0)) {
    snprintf(line, sizeof line, "E %s: %s\n", s->tty ? "socketpair" : "pipe", strerror(errno));
    write_all(report_w, line, strlen(line));
    unlink(buf);
    _exit(1);
  }
  char devmsg[1300];
  if ((s->stdin_open || s->tty) && att_listen(&att, state_dir, devmsg, sizeof devmsg) < 0) {
    snprintf(line, sizeof line, "E %s\n", devmsg);
    write_all(report_w, line, strlen(line));
    unlink(buf);
    _exit(1);
  }
  if (attach_device_filter(s, devmsg, sizeof devmsg) < 0) {
    snprintf(line, sizeof line, "E %s\n", devmsg);
    write_all(report_w, line, strlen(line));
    unlink(buf);
    _exit(1);
  }
  if (join_pid_namespace(s, line, sizeof line) < 0) {
    write_all(report_w, line, strlen(line));
    unlink(buf);
    _exit(1);
  }
  int flags = CLONE_NEWNS | (s->host_pid || s->pidns ? 0 : CLONE_NEWPID);
  if (!s->netns) flags |= CLONE_NEWNET;
  if (!s->ipcns) flags |= CLONE_NEWIPC;
  if (!s->utsns) flags |= CLONE_NEWUTS;
  pid_t child = (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
  if (child < 0) {
    /* ENOMEM from clone into a PID namespace whose init is gone: say so, not "out of memory". */
    snprintf(line, sizeof line, "E clone: %s%s\n", strerror(errno),
             s->pidns && errno == ENOMEM ? " (the pod's shared PID namespace has no init left: its sandbox process exited)" : "");
    write_all(report_w, line, strlen(line));
    _exit(1);
  }
  if (child == 0) {
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
    close(report_w);
    sync_w = syncp[1];
    container_init(s, (struct init_fds){inp[0], outp[1], errp[1], ttyp[1]});
    _exit(127);
  }
  close(outp[1]);
  close(errp[1]);
  close(syncp[1]);
  if (inp[0] >= 0) close(inp[0]);
  if (ttyp[1] >= 0) close(ttyp[1]);

  /* Wait for the init to be created (blocked on the fifo) or to fail; with tty, its terminal came before. */
  int n = read_sync(syncp[0], line, sizeof line);
  int master = n > 0 && line[0] == 'O' && s->tty ? recv_fd(ttyp[0]) : -1;
  if (ttyp[0] >= 0) close(ttyp[0]);
  if (n == 0 || line[0] != 'O' || (s->tty && master < 0)) {
    char msg[1600];
    snprintf(msg, sizeof msg, "E %s\n", n > 1 && line[0] != 'O' ? line + 2 : n > 0 ? "receive the terminal from the container init" : "container init exited during setup");
    write_all(report_w, msg, strlen(msg));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    snprintf(buf, sizeof buf, "%s/exec.fifo", state_dir);
    unlink(buf);
    if (att.listen_fd >= 0) unlink(att.path);
    _exit(1);
  }
  snprintf(buf, sizeof buf, "%d\n", (int)child);
  write_file_atomic(state_dir, "pid", buf);
  snprintf(line, sizeof line, "O %d\n", (int)child);
  write_all(report_w, line, strlen(line));
  close(report_w);

  struct logger *lg = calloc(1, sizeof *lg);
  lg->path = s->log;
  lg->max_bytes = s->log_max_bytes;
  lg->max_files = s->log_max_files;
  log_open(lg);
  struct stream *so = calloc(1, sizeof *so), *se = calloc(1, sizeof *se);
  so->tag = "stdout";
  so->fd = outp[0];
  se->tag = "stderr";
  se->fd = errp[0];
  so->kind = 'o';
  se->kind = 'e';
  if (master >= 0) {
    /* The terminal is the one stream; the pipes are unused (the init's stdio is the slave). */
    close(outp[0]);
    close(errp[0]);
    so->fd = master;
    so->crlf = 1;
    se->fd = -1;
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    att.tty_fd = master;
    if (s->stdin_open) att.in_fd = fcntl(master, F_DUPFD_CLOEXEC, 0);
  } else if (inp[1] >= 0) {
    fcntl(inp[1], F_SETFL, fcntl(inp[1], F_GETFL) | O_NONBLOCK);
    att.in_fd = inp[1];
  }

  int sync_fd = syncp[0], exited = 0, status = 0;
  for (;;) {
    struct pollfd pf[4 + 2 + ATT_MAX_CLIENTS] = {{so->fd, POLLIN, 0}, {se->fd, POLLIN, 0}, {sync_fd, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (exited && so->fd < 0 && se->fd < 0) break;
    int k = att_pollfds(&att, pf + 4);
    int r = poll(pf, (nfds_t)(4 + k), exited ? 2000 : -1);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) break; /* exited and the pipes stay open: nothing more will come */
    if (pf[0].revents && !stream_read(lg, so)) so->fd = (close(so->fd), -1);
    if (pf[1].revents && !stream_read(lg, se)) se->fd = (close(se->fd), -1);
    log_flush(lg);
    if (r > 0) att_handle(&att, pf + 4, k);
    if (att.hangup && so->fd >= 0) so->fd = (close(so->fd), -1); /* stdinOnce ended: the terminal is hung up */
    if (master >= 0 && so->fd < 0) att.tty_fd = -1;
    if (pf[2].revents) {
      int m = read_sync(sync_fd, line, sizeof line);
      if (m == 0) {
        close(sync_fd);
        sync_fd = -1;
      } else if (line[0] == 'S') {
        now_rfc3339(started_at, sizeof started_at);
        snprintf(buf, sizeof buf, "started_at %s\n", started_at);
        write_file_atomic(state_dir, "started", buf);
      } else if (line[0] == 'E') {
        snprintf(message, sizeof message, "%s", line + 2);
      }
    }
    if (pf[3].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {
      }
      int st;
      pid_t p;
      while ((p = waitpid(-1, &st, WNOHANG)) > 0)
        if (p == child) {
          exited = 1;
          status = st;
        }
    }
  }
  if (sync_fd >= 0) {
    /* An exec failure message may still be queued. */
    int fl = fcntl(sync_fd, F_GETFL);
    fcntl(sync_fd, F_SETFL, fl | O_NONBLOCK);
    while (read_sync(sync_fd, line, sizeof line) > 0)
      if (line[0] == 'E') snprintf(message, sizeof message, "%s", line + 2);
  }
  log_flush(lg);
  snprintf(buf, sizeof buf, "%s/exec.fifo", state_dir);
  unlink(buf);
  record_exit(s, status);
  att_finish(&att);
  _exit(0);
}

/* Request ID when started by tsk-launcher: results go to stdout as "ID\tCODE\tMESSAGE". */
static const char *reqid;

static int finish(int code, const char *msg) {
  if (reqid) {
    char line[3000];
    int n = snprintf(line, sizeof line, "%s\t%d\t%s", reqid, code, msg);
    for (int i = 0; i < n && i < (int)sizeof line; i++)
      if (line[i] == '\n') line[i] = ' ';
    if (n >= (int)sizeof line) n = sizeof line - 1;
    line[n++] = '\n';
    write_all(1, line, (size_t)n);
  } else {
    fprintf(code ? stderr : stdout, "%s\n", msg);
  }
  return code;
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[2], "--reqid")) reqid = argv[3];
  else if (argc != 2) {
    fprintf(stderr, "usage: tsk-shim STATE_DIR [--reqid ID]\n");
    return 2;
  }
  /* Whatever started us may have ignored or blocked SIGCHLD; the shim depends on it. */
  signal(SIGCHLD, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  state_dir = argv[1];
  char path[PATH_MAX], msg[2048];
  snprintf(path, sizeof path, "%s/spec", state_dir);
  char *text = read_file(path);
  if (!text) {
    snprintf(msg, sizeof msg, "read spec %s: %s", path, strerror(errno));
    return finish(1, msg);
  }
  struct spec s;
  int parsed = parse_spec(text, &s);
  if (parsed < 0) {
    snprintf(msg, sizeof msg, parsed == -3 ? "spec %s: userns without userns_root" : parsed == -2 ? "spec %s: bind_src, bind_dst, bind_ro, bind_sub and bind_idmap records do not pair up" : "spec %s: no command (arg) given", path);
    return finish(1, msg);
  }
  if (!s.rootfs || !s.upper || !s.work || s.lower.n == 0 || !s.log) {
    snprintf(msg, sizeof msg, "spec %s: rootfs, upper, work, lower and log are required", path);
    return finish(1, msg);
  }
  if (s.seccomp && !(s.seccomp_text = read_seccomp_file(s.seccomp, msg, sizeof msg))) return finish(1, msg);
  /* Here, in the node's mount namespace, where the cache is; the init (forked below) loads the program. */
  s.seccomp_bpf = seccomp_bpf_cached(s.seccomp_text, s.seccomp_cache);
  int report[2];
  if (pipe2(report, O_CLOEXEC) < 0) {
    snprintf(msg, sizeof msg, "pipe: %s", strerror(errno));
    return finish(1, msg);
  }
  pid_t b = fork();
  if (b < 0) {
    snprintf(msg, sizeof msg, "fork: %s", strerror(errno));
    return finish(1, msg);
  }
  if (b == 0) {
    close(report[0]);
    shim(&s, report[1]);
  }
  close(report[1]);
  size_t len = 0;
  for (;;) {
    ssize_t r = read(report[0], msg + len, sizeof msg - 1 - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    len += (size_t)r;
  }
  msg[len] = 0;
  if (len > 0 && msg[len - 1] == '\n') msg[len - 1] = 0;
  if (msg[0] == 'O') return finish(0, msg + 2);
  /* B exits right after reporting an error; reap it so it does not linger as a zombie. */
  waitpid(b, NULL, 0);
  return finish(1, len > 2 ? msg + 2 : "shim exited before the container was created");
}
