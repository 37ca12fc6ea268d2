/*
 * User namespaces of pods (Kubernetes hostUsers: false, KEP-127): the ID
 * maps written from the parent, and idmapped mounts.
 *
 * A pod's user namespace maps its IDs 0..LEN-1 to the host IDs
 * HOST..HOST+LEN-1, for users and groups alike (the kubelet allocates the
 * range). Files on the host stay as they are: the image layers, the upper
 * dir and most volumes are seen through idmapped mounts (open_tree with
 * OPEN_TREE_CLONE, mount_setattr with MOUNT_ATTR_IDMAP, move_mount; Linux
 * 5.12, overlayfs layers 5.19, tmpfs 6.3), so a file of host root is one of
 * the pod's root inside, as containerd and CRI-O do, instead of chowning
 * shared layers.
 */
#ifndef TSK_USERNS_H
#define TSK_USERNS_H

#include "tsk-common.h"

#include <linux/capability.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428 /* the same number on every architecture */
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#define TSK_OPEN_TREE_CLONE 1
#define TSK_MOUNT_ATTR_IDMAP 0x00100000ULL
#define TSK_MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define TSK_MOVE_MOUNT_T_EMPTY_PATH 0x00000040

/* struct mount_attr of linux/mount.h, spelled out: older libc headers lack it. */
struct tsk_idmap_attr {
  unsigned long long attr_set, attr_clr, propagation, userns_fd;
};

/* Parses "HOST:LEN" (the sandbox's userns= option and the shim's userns_ids). Returns 0, or -1. */
__attribute__((unused)) static int parse_id_range(const char *v, unsigned long *host, unsigned long *len) {
  char *end;
  errno = 0;
  unsigned long h = strtoul(v, &end, 10);
  if (errno || end == v || *end != ':') return -1;
  const char *l = end + 1;
  unsigned long n = strtoul(l, &end, 10);
  if (errno || end == l || *end || n == 0 || h == 0 || h + n > 4294967295UL) return -1;
  *host = h;
  *len = n;
  return 0;
}

/*
 * Writes /proc/PID/uid_map and gid_map: "0 HOST LEN". Done by a process with
 * CAP_SETUID/CAP_SETGID in the parent namespace, so setgroups(2) stays
 * allowed inside (the container's supplementary groups need it). Returns
 * NULL or the failed step, errno set.
 */
__attribute__((unused)) static const char *write_id_maps(pid_t pid, unsigned long host, unsigned long len) {
  char path[64], map[64];
  snprintf(map, sizeof map, "0 %lu %lu\n", host, len);
  snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
  if (write_file(path, map) < 0) return "write uid_map";
  snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
  if (write_file(path, map) < 0) return "write gid_map";
  return NULL;
}

/*
 * A detached copy of the mount tree at dirfd/path (AT_EMPTY_PATH when path
 * is ""), idmapped by the user namespace userns_fd; with recursive, its
 * submounts too (each must be of a filesystem that supports idmapped
 * mounts). Returns the tree's fd, or -1 with errno set and *step named.
 */
__attribute__((unused)) static int idmapped_tree(int dirfd, const char *path, int userns_fd, int recursive, const char **step) {
  int flags = TSK_OPEN_TREE_CLONE | O_CLOEXEC | (recursive ? AT_RECURSIVE : 0) | (*path ? 0 : AT_EMPTY_PATH);
  int tree = (int)syscall(SYS_open_tree, dirfd, path, flags);
  if (tree < 0) {
    *step = errno == ENOSYS ? "open_tree (idmapped mounts need Linux 5.12 or later)" : "open_tree(OPEN_TREE_CLONE)";
    return -1;
  }
  struct tsk_idmap_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = TSK_MOUNT_ATTR_IDMAP;
  attr.userns_fd = (unsigned long long)userns_fd;
  if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) < 0) {
    /* EINVAL: the filesystem cannot be idmapped (or the kernel is too old for this one). */
    *step = "mount_setattr(MOUNT_ATTR_IDMAP)";
    int saved = errno;
    close(tree);
    errno = saved;
    return -1;
  }
  return tree;
}

/* Attaches a detached tree onto the target fd (an O_PATH fd of the mount point). Closes tree. */
__attribute__((unused)) static int attach_tree(int tree, int target) {
  int rc = (int)syscall(SYS_move_mount, tree, "", target, "", TSK_MOVE_MOUNT_F_EMPTY_PATH | TSK_MOVE_MOUNT_T_EMPTY_PATH);
  int saved = errno;
  close(tree);
  errno = saved;
  return rc;
}

/*
 * Covers path with an idmapped view of itself (in the caller's mount
 * namespace only). Returns NULL or the failed step, errno set.
 */
__attribute__((unused)) static const char *idmap_in_place(const char *path, int userns_fd) {
  const char *step = NULL;
  int tree = idmapped_tree(AT_FDCWD, path, userns_fd, 0, &step);
  if (tree < 0) return step;
  int target = open(path, O_PATH | O_CLOEXEC);
  if (target < 0) {
    close(tree);
    return "open mount point";
  }
  int rc = attach_tree(tree, target);
  int saved = errno;
  close(target);
  errno = saved;
  return rc < 0 ? "move_mount" : NULL;
}

/*
 * Makes the caller create files as the host ID `id` (the pod's root) while
 * it keeps every capability it has: the idmapped rootfs has no ID for the
 * host's root (creating there fails with EOVERFLOW), and overlayfs does its
 * upper-dir work with its mounter's credentials. setfsuid away from 0 drops
 * the file capabilities from the effective set; they are raised again.
 * Returns 0, or -1 with errno set.
 */
__attribute__((unused)) static int create_as(unsigned long id) {
  setfsgid((gid_t)id);
  setfsuid((uid_t)id);
  if ((unsigned long)setfsuid((uid_t)-1) != id || (unsigned long)setfsgid((gid_t)-1) != id) {
    errno = EPERM;
    return -1;
  }
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &hdr, data) < 0) return -1;
  for (int i = 0; i < 2; i++) data[i].effective = data[i].permitted;
  return (int)syscall(SYS_capset, &hdr, data);
}

#endif
