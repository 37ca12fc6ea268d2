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
 *
 * A mount with a subPath (Kubernetes volumeMounts[].subPath) binds a path
 * inside the source instead of the source itself. A container of the pod may
 * have written symlinks into the volume, so the subPath is resolved by the
 * kernel with openat2(RESOLVE_BENEATH) against the source's fd: a symlink or
 * ".." that leaves the volume fails with EXDEV instead of being followed
 * (Kubernetes' doSafeOpen, which opens each component with O_NOFOLLOW, for
 * the same reason), and the mount takes the resolved fd, so a symlink swapped
 * in afterwards changes nothing. A missing subPath is created as a directory
 * with the volume's permissions, as Kubernetes does.
 *
 * A read-only bind mount with MS_REC still leaves the submounts it carries
 * writable (MS_RDONLY on a remount applies to one mount only). A recursive
 * read-only mount (Kubernetes volumeMounts[].recursiveReadOnly, CRI Mount
 * recursive_read_only) makes all of them read-only with mount_setattr(2)
 * MOUNT_ATTR_RDONLY and AT_RECURSIVE (Linux 5.12), as runc's "rro" option.
 */
#ifndef TSK_MOUNTS_H
#define TSK_MOUNTS_H

#include "tsk-common.h"

#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

#include "tsk-userns.h"

/* How read-only a bind mount is: the spec's bind_ro values 0, 1, recursive, recursive-if-possible. */
enum read_only { RO_NO, RO_YES, RO_RECURSIVE, RO_RECURSIVE_IF_POSSIBLE };

struct bind_mount {
  const char *src, *dst;
  /* Relative path inside src to mount instead of src; NULL or "" for src itself. */
  const char *sub;
  enum read_only readonly;
  /* A user namespace fd: the mount is idmapped by it (CRI Mount uidMappings/gidMappings); -1: a plain bind. */
  int idmap_fd;
};


/* The spec's bind_ro value; -1 for an unknown one. */
__attribute__((unused)) static int parse_read_only(const char *v) {
  if (!strcmp(v, "0")) return RO_NO;
  if (!strcmp(v, "1")) return RO_YES;
  if (!strcmp(v, "recursive")) return RO_RECURSIVE;
  if (!strcmp(v, "recursive-if-possible")) return RO_RECURSIVE_IF_POSSIBLE;
  return -1;
}

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442 /* the same number on every architecture */
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

/* struct mount_attr of linux/mount.h, spelled out: older libc headers lack it. */
struct tsk_mount_attr {
  unsigned long long attr_set, attr_clr, propagation, userns_fd;
};

/*
 * Makes the mount at fd and every mount beneath it read-only. Returns 0, or
 * -1 with errno set (ENOSYS: a kernel older than 5.12).
 */
static int make_read_only_recursive(int fd) {
  struct tsk_mount_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = 0x00000001; /* MOUNT_ATTR_RDONLY */
  return (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr);
}

/* How a path is resolved against a directory fd: which openat2 RESOLVE_ flags, and the mode of directories created on the way. */
struct resolution {
  unsigned long long resolve;
  mode_t dir_mode;
};

/* Inside a rootfs: symlinks and ".." stay in it, as if it were "/". */
static const struct resolution IN_ROOT = {RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, 0755};

static int open_resolved(int dirfd, const char *path, int flags, const struct resolution *r) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (unsigned long long)(flags | O_CLOEXEC);
  how.resolve = r->resolve;
  /* openat2 with RESOLVE_IN_ROOT/BENEATH fails with EAGAIN when a rename or
   * mount anywhere on the system raced the walk; the kernel asks callers to
   * retry (openat2(2)). */
  int fd, tries = 0;
  do {
    fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
  } while (fd < 0 && errno == EAGAIN && ++tries < 64);
  return fd;
}

/* Opens path inside the root whose directory fd is rootfd; never leaves it. */
static int open_in_root(int rootfd, const char *path, int flags) {
  return open_resolved(rootfd, path, flags, &IN_ROOT);
}

/* Creates the missing entry `name` in parent: a directory (with exactly dir_mode, whatever the umask), or an empty file. */
static int create_entry(int parent, const char *name, int dir, mode_t dir_mode) {
  if (dir) {
    mode_t old = umask(0);
    int rc = mkdirat(parent, name, dir_mode);
    umask(old);
    return rc;
  }
  int fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

/*
 * Returns an O_PATH fd of dst resolved against rootfd as r says, creating
 * what is missing (directories on the way; the last component as a directory
 * when want_dir, else as an empty file). On failure returns -1 with errno set
 * and *step naming what failed.
 */
static int open_target(int rootfd, const char *dst, int want_dir, const struct resolution *r, const char **step) {
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
    /* Relative to rootfd: RESOLVE_BENEATH refuses absolute paths. */
    if (plen > 0) prefix[plen++] = '/';
    memcpy(prefix + plen, p, len);
    plen += len;
    prefix[plen] = 0;
    p = rest;
    if (fd >= 0) close(fd);
    fd = open_resolved(rootfd, prefix, O_PATH, r);
    if (fd >= 0) continue;
    if (errno != ENOENT) {
      *step = "resolve target";
      return -1;
    }
    /* Missing: create it in its parent (itself resolved in the root), then resolve again. */
    int parent = open_resolved(rootfd, parent_path[0] ? parent_path : ".", O_PATH | O_DIRECTORY, r);
    if (parent < 0) {
      *step = "resolve target parent";
      return -1;
    }
    int rc = create_entry(parent, name, !last || want_dir, r->dir_mode);
    int saved = errno;
    close(parent);
    /* EEXIST: a racing creator, or a dangling symlink (the open below then fails with ENOENT). */
    if (rc < 0 && saved != EEXIST) {
      errno = saved;
      *step = last && !want_dir ? "create target file" : "create target directory";
      return -1;
    }
    fd = open_resolved(rootfd, prefix, O_PATH, r);
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
 * The subPath of a volume: an O_PATH fd of it, resolved beneath the volume
 * (never outside it, symlinks included) and created as a directory when
 * missing. Closes vol. Returns -1 with errno set and *step naming the failure.
 */
static int open_sub_path(int vol, const char *sub, const char **step) {
  struct stat st;
  int fd = -1;
  if (fstat(vol, &st) < 0) *step = "stat source";
  else if (!S_ISDIR(st.st_mode)) errno = ENOTDIR, *step = "subPath of a source that is not a directory";
  else {
    /* Kubernetes gives created subPath directories the volume's permission bits. */
    const struct resolution beneath = {RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS, st.st_mode & 0777};
    fd = open_target(vol, sub, 1, &beneath, step);
    /* EXDEV: a ".." or a symlink (absolute, or relative with too many "..") would leave the volume. */
    if (fd < 0 && errno == EXDEV) *step = "subPath resolves outside the volume (through \"..\" or a symlink)";
    else if (fd < 0 && errno == ELOOP) *step = "subPath has too many levels of symlinks or goes through a /proc magic link";
  }
  int saved = errno;
  close(vol);
  errno = saved;
  return fd;
}

/*
 * Bind-mounts m->src (a host path), or its subPath, onto m->dst inside the root: recursive,
 * idmapped if asked, private propagation, read-only if asked (the submounts too, for RO_RECURSIVE*). Returns NULL or the failed step;
 * errno is set.
 */
static const char *bind_into_root(int rootfd, const struct bind_mount *m) {
  int src = open(m->src, O_PATH | O_CLOEXEC);
  if (src < 0) return "open source";
  const char *step = NULL;
  if (m->sub && *m->sub && (src = open_sub_path(src, m->sub, &step)) < 0) return step;
  struct stat st, tst;
  if (fstat(src, &st) < 0) {
    close(src);
    return "stat source";
  }
  int dir = S_ISDIR(st.st_mode);
  int dst = open_target(rootfd, m->dst, dir, &IN_ROOT, &step);
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
  if (!step && m->idmap_fd >= 0) {
    int tree = idmapped_tree(src, "", m->idmap_fd, 1, &step);
    if (tree >= 0 && attach_tree(tree, dst) < 0) step = "move_mount idmapped mount";
  } else if (!step && mount(from, to, NULL, MS_BIND | MS_REC, NULL) < 0)
    step = "bind mount";
  close(dst);
  close(src);
  if (step) return step;
  /* The fd saw the covered target; the new mount is found by resolving again. */
  dst = open_in_root(rootfd, m->dst, O_PATH);
  if (dst < 0) return "resolve mounted target";
  snprintf(to, sizeof to, "/proc/self/fd/%d", dst);
  if (mount(NULL, to, NULL, MS_PRIVATE | MS_REC, NULL) < 0) step = "make mount private";
  else if (m->readonly != RO_NO && mount(NULL, to, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | kept_flags(dst), NULL) < 0)
    step = "remount read-only";
  else if (m->readonly >= RO_RECURSIVE && make_read_only_recursive(dst) < 0) {
    /* IfPossible: the plain read-only mount above is what an old kernel can do (Kubernetes' fallback). */
    if (!(errno == ENOSYS && m->readonly == RO_RECURSIVE_IF_POSSIBLE))
      step = errno == ENOSYS ? "recursive read-only (mount_setattr, AT_RECURSIVE) needs Linux 5.12 or later"
                             : "recursive read-only: mount_setattr(MOUNT_ATTR_RDONLY, AT_RECURSIVE)";
  }
  int saved = errno;
  close(dst);
  errno = saved;
  return step;
}

#endif
