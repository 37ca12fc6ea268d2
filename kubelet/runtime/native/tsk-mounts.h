/*
 * Bind mounts into a container's rootfs (CRI Mount: hostPath, containerPath,
 * readOnly), done by the container init in its own mount namespace, after
 * the rootfs and the sandbox's /etc files and before pivot_root.
 *
 * Where a containerPath lands is resolved by the kernel with
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) against the rootfs: every
 * symlink and ".." is resolved as if the rootfs were "/", so a hostile image
 * (a symlink to "/" or "../../..") cannot make us mount over a host path.
 * That is runc's securejoin, done by the kernel instead of by hand. Missing
 * components are created one at a time under a parent that was itself
 * resolved inside the root. The mount then targets the resolved file through
 * its /proc/self/fd magic link, so nothing is looked up by name again.
 */
#ifndef TSK_MOUNTS_H
#define TSK_MOUNTS_H

#include "tsk-common.h"

#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

struct bind_mount {
  const char *src, *dst;
  int readonly;
};

/* Opens path inside the root whose directory fd is rootfd; never leaves it. */
static int open_in_root(int rootfd, const char *path, int flags) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (unsigned long long)(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* Creates the missing entry `name` in parent: a directory, or an empty file. */
static int create_entry(int parent, const char *name, int dir) {
  if (dir) return mkdirat(parent, name, 0755);
  int fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

/*
 * Returns an O_PATH fd of dst resolved inside the root, creating what is
 * missing (directories on the way; the last component as a directory when
 * want_dir, else as an empty file). On failure returns -1 with errno set and
 * *step naming what failed.
 */
static int open_target(int rootfd, const char *dst, int want_dir, const char **step) {
  char prefix[PATH_MAX] = "", name[PATH_MAX];
  size_t plen = 0;
  int fd = -1;
  const char *p = dst;
  for (;;) {
    while (*p == '/') p++;
    if (!*p) break;
    const char *end = strchr(p, '/');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    const char *rest = p + len;
    while (*rest == '/') rest++;
    int last = *rest == 0;
    if (plen + len + 2 > sizeof prefix) {
      errno = ENAMETOOLONG;
      *step = "resolve target";
      goto fail;
    }
    char parent_path[PATH_MAX];
    memcpy(parent_path, prefix, plen + 1);
    memcpy(name, p, len);
    name[len] = 0;
    prefix[plen++] = '/';
    memcpy(prefix + plen, p, len);
    plen += len;
    prefix[plen] = 0;
    p = rest;
    if (fd >= 0) close(fd);
    fd = open_in_root(rootfd, prefix, O_PATH);
    if (fd >= 0) continue;
    if (errno != ENOENT) {
      *step = "resolve target";
      return -1;
    }
    /* Missing: create it in its parent (itself resolved in the root), then resolve again. */
    int parent = open_in_root(rootfd, parent_path[0] ? parent_path : "/", O_PATH | O_DIRECTORY);
    if (parent < 0) {
      *step = "resolve target parent";
      return -1;
    }
    int rc = create_entry(parent, name, !last || want_dir);
    int saved = errno;
    close(parent);
    /* EEXIST: a racing creator, or a dangling symlink (the open below then fails with ENOENT). */
    if (rc < 0 && saved != EEXIST) {
      errno = saved;
      *step = last && !want_dir ? "create target file" : "create target directory";
      return -1;
    }
    fd = open_in_root(rootfd, prefix, O_PATH);
    if (fd < 0) {
      *step = errno == ENOENT ? "resolve target (a dangling symlink?)" : "resolve target";
      return -1;
    }
  }
  if (fd < 0) {
    errno = EINVAL;
    *step = "target is the rootfs itself";
  }
  return fd;
fail:
  if (fd >= 0) close(fd);
  return -1;
}

/* The per-mount flags a bind remount must keep (it replaces them all). */
static unsigned long kept_flags(int fd) {
  struct statvfs sv;
  unsigned long f = 0;
  if (fstatvfs(fd, &sv) < 0) return 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

/*
 * Bind-mounts m->src (a host path) onto m->dst inside the root: recursive,
 * private propagation, read-only if asked. Returns NULL or the failed step;
 * errno is set.
 */
static const char *bind_into_root(int rootfd, const struct bind_mount *m) {
  int src = open(m->src, O_PATH | O_CLOEXEC);
  if (src < 0) return "open source";
  struct stat st, tst;
  if (fstat(src, &st) < 0) {
    close(src);
    return "stat source";
  }
  const char *step = NULL;
  int dir = S_ISDIR(st.st_mode);
  int dst = open_target(rootfd, m->dst, dir, &step);
  if (dst < 0) {
    close(src);
    return step;
  }
  if (fstat(dst, &tst) < 0) step = "stat target";
  else if (dir && !S_ISDIR(tst.st_mode)) errno = ENOTDIR, step = "target is not a directory but the source is";
  else if (!dir && S_ISDIR(tst.st_mode)) errno = EISDIR, step = "target is a directory but the source is not";
  char from[64], to[64];
  snprintf(from, sizeof from, "/proc/self/fd/%d", src);
  snprintf(to, sizeof to, "/proc/self/fd/%d", dst);
  if (!step && mount(from, to, NULL, MS_BIND | MS_REC, NULL) < 0) step = "bind mount";
  close(dst);
  close(src);
  if (step) return step;
  /* The fd saw the covered target; the new mount is found by resolving again. */
  dst = open_in_root(rootfd, m->dst, O_PATH);
  if (dst < 0) return "resolve mounted target";
  snprintf(to, sizeof to, "/proc/self/fd/%d", dst);
  if (mount(NULL, to, NULL, MS_PRIVATE | MS_REC, NULL) < 0) step = "make mount private";
  else if (m->readonly && mount(NULL, to, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | kept_flags(dst), NULL) < 0)
    step = "remount read-only";
  int saved = errno;
  close(dst);
  errno = saved;
  return step;
}

#endif
