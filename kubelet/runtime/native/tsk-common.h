/*
 * Shared helpers for tsk's native runtime helpers (tsk-shim, tsk-exec,
 * tsk-sandbox). Header-only because build-native.sh builds one executable per
 * C file; everything here is static.
 *
 * The spec format written by the TypeScript side is one "key value" record a
 * line, value escaped with \\ and \n, so no JSON parser is needed in C.
 */
#ifndef TSK_COMMON_H
#define TSK_COMMON_H

/* Messages and paths are cut at buffer size on purpose; snprintf bounds them. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define TSK_MAX_LIST 256

struct tsk_list {
  int n;
  char *v[TSK_MAX_LIST + 1]; /* NULL-terminated, usable as argv/envp */
};

__attribute__((unused)) static void list_add(struct tsk_list *l, char *s) {
  if (l->n < TSK_MAX_LIST) {
    l->v[l->n++] = s;
    l->v[l->n] = NULL;
  }
}

/* Writes all of buf, retrying on EINTR and short writes. */
__attribute__((unused)) static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, buf, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    buf += w;
    len -= (size_t)w;
  }
  return 0;
}

/* Writes a whole small file (truncating). Returns -1 with errno on failure. */
__attribute__((unused)) static int write_file(const char *path, const char *data) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  int rc = write_all(fd, data, strlen(data));
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

/* Writes a file atomically: tmp file then rename, so readers never see half of it. */
__attribute__((unused)) static int write_file_atomic(const char *dir, const char *name, const char *data) {
  char tmp[PATH_MAX], dst[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
  snprintf(dst, sizeof dst, "%s/%s", dir, name);
  if (write_file(tmp, data) < 0) return -1;
  return rename(tmp, dst);
}

/* Reads a small file into a malloc'd NUL-terminated buffer. */
__attribute__((unused)) static char *read_file(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (len + 1 >= cap) {
      cap *= 2;
      buf = realloc(buf, cap);
    }
    ssize_t r = read(fd, buf + len, cap - len - 1);
    if (r < 0) {
      if (errno == EINTR) continue;
      free(buf);
      close(fd);
      return NULL;
    }
    if (r == 0) break;
    len += (size_t)r;
  }
  close(fd);
  buf[len] = 0;
  return buf;
}

/* Undoes the \\ and \n escapes of a spec value in place. */
__attribute__((unused)) static void unescape(char *s) {
  char *o = s;
  for (; *s; s++) {
    if (*s == '\\' && s[1]) {
      s++;
      *o++ = *s == 'n' ? '\n' : *s;
    } else {
      *o++ = *s;
    }
  }
  *o = 0;
}

/* Formats the current wall-clock time as RFC 3339 with nanoseconds (UTC). */
__attribute__((unused)) static void now_rfc3339(char *out, size_t n) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

/* Joins a cgroup (v1 controller dir or v2 dir) by writing our own pid. */
__attribute__((unused)) static int join_cgroup(const char *dir) {
  char path[PATH_MAX], pid[32];
  snprintf(path, sizeof path, "%s/cgroup.procs", dir);
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = write_all(fd, pid, strlen(pid));
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

/* Capability syscalls without libcap. */
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

__attribute__((unused)) static int last_cap(void) {
  char *s = read_file("/proc/sys/kernel/cap_last_cap");
  int n = s ? atoi(s) : 40;
  free(s);
  return n;
}

/*
 * Cuts the bounding set to `allowed` (a bit mask, up to 64 caps) and sets the
 * effective and permitted sets to it; the inheritable set stays empty, as
 * runc's since CVE-2022-24769 (a program with inheritable file capabilities
 * must not gain them). Returns the failing step name or NULL.
 */
__attribute__((unused)) static const char *apply_caps(unsigned long long allowed, int lastcap) {
  for (int c = 0; c <= lastcap && c < 64; c++) {
    if (allowed & (1ULL << c)) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) return "prctl(PR_CAPBSET_DROP)";
  }
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  for (int i = 0; i < 2; i++) {
    unsigned int word = (unsigned int)(allowed >> (32 * i));
    data[i].effective = word;
    data[i].permitted = word;
  }
  if (syscall(SYS_capset, &hdr, data) < 0) return "capset";
  return NULL;
}

/* Switches to uid/gid with supplementary groups, keeping capabilities across setuid. */
#include <grp.h>
__attribute__((unused)) static const char *switch_user(uid_t uid, gid_t gid, int ngids, gid_t *gids) {
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return "prctl(PR_SET_KEEPCAPS)";
  if (setgroups((size_t)ngids, gids) < 0) return "setgroups";
  if (setresgid(gid, gid, gid) < 0) return "setgid";
  if (setresuid(uid, uid, uid) < 0) return "setuid";
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return "prctl(PR_SET_KEEPCAPS)";
  return NULL;
}

/*
 * Finds an executable the way execvp would, inside the current root, using
 * PATH from the container environment. Returns a malloc'd path or NULL.
 */
__attribute__((unused)) static char *lookup_path(const char *cmd, char *const envp[]) {
  if (strchr(cmd, '/')) return access(cmd, X_OK) == 0 ? strdup(cmd) : NULL;
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (int i = 0; envp[i]; i++)
    if (strncmp(envp[i], "PATH=", 5) == 0) path = envp[i] + 5;
  char buf[PATH_MAX];
  const char *p = path;
  while (*p) {
    const char *e = strchr(p, ':');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    snprintf(buf, sizeof buf, "%.*s/%s", (int)len, p, cmd);
    struct stat st;
    if (len > 0 && stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0) return strdup(buf);
    if (!e) break;
    p = e + 1;
  }
  return NULL;
}

#endif
