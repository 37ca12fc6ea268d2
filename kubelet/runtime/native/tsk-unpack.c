/*
 * tsk-unpack: the two filesystem calls Node lacks, for layer unpacking.
 *
 *   tsk-unpack ROOT < ops
 *
 * ROOT is the layer directory being unpacked. stdin is a sequence of
 * records, every field terminated by a NUL byte:
 *
 *   N PATH MODE TYPE MAJOR MINOR UID GID   mknod (TYPE c, b or p; MODE octal)
 *   X PATH NAME HEXVALUE                   lsetxattr
 *
 * PATH is relative to ROOT and has been checked by the caller (no "..", no
 * symlinked parents); the calls below still refuse to follow a final
 * symlink. The first failure is reported on stderr naming the syscall and
 * path, and the exit status is 1, so the caller can discard the layer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#define FIELD_MAX 8192

static int rootfd = -1;
static const char *root = "";

/* Reads one NUL-terminated field into buf; returns 0 at clean EOF, -1 on error. */
static int field(char *buf, size_t cap) {
    size_t n = 0;
    int c;
    while ((c = getchar()) != EOF) {
        if (c == 0) {
            buf[n] = 0;
            return 1;
        }
        if (n + 1 >= cap) {
            fprintf(stderr, "tsk-unpack: field too long\n");
            return -1;
        }
        buf[n++] = (char)c;
    }
    if (n != 0) {
        fprintf(stderr, "tsk-unpack: truncated record\n");
        return -1;
    }
    return 0;
}

static int need(char *buf, size_t cap) {
    int r = field(buf, cap);
    if (r == 0) fprintf(stderr, "tsk-unpack: truncated record\n");
    return r == 1 ? 0 : -1;
}

static int parse_ul(const char *s, int base, unsigned long *out) {
    char *end;
    errno = 0;
    *out = strtoul(s, &end, base);
    if (errno != 0 || *s == 0 || *end != 0) {
        fprintf(stderr, "tsk-unpack: bad number \"%s\"\n", s);
        return -1;
    }
    return 0;
}

static int do_mknod(void) {
    char path[FIELD_MAX], mode_s[32], type[8], maj_s[32], min_s[32], uid_s[32], gid_s[32];
    unsigned long mode, maj, min, uid, gid;
    if (need(path, sizeof path) || need(mode_s, sizeof mode_s) || need(type, sizeof type) ||
        need(maj_s, sizeof maj_s) || need(min_s, sizeof min_s) || need(uid_s, sizeof uid_s) ||
        need(gid_s, sizeof gid_s))
        return -1;
    if (parse_ul(mode_s, 8, &mode) || parse_ul(maj_s, 10, &maj) || parse_ul(min_s, 10, &min) ||
        parse_ul(uid_s, 10, &uid) || parse_ul(gid_s, 10, &gid))
        return -1;
    mode_t fmt;
    if (strcmp(type, "c") == 0) fmt = S_IFCHR;
    else if (strcmp(type, "b") == 0) fmt = S_IFBLK;
    else if (strcmp(type, "p") == 0) fmt = S_IFIFO;
    else {
        fprintf(stderr, "tsk-unpack: bad node type \"%s\"\n", type);
        return -1;
    }
    /* A later tar entry replaces an earlier one of the same name. */
    if (unlinkat(rootfd, path, 0) != 0 && errno != ENOENT) {
        fprintf(stderr, "tsk-unpack: unlink %s/%s: %s\n", root, path, strerror(errno));
        return -1;
    }
    if (mknodat(rootfd, path, fmt | (mode & 07777), makedev(maj, min)) != 0) {
        fprintf(stderr, "tsk-unpack: mknod %s/%s: %s\n", root, path, strerror(errno));
        return -1;
    }
    if (fchownat(rootfd, path, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) != 0 && geteuid() == 0) {
        fprintf(stderr, "tsk-unpack: chown %s/%s: %s\n", root, path, strerror(errno));
        return -1;
    }
    /* chown may clear set-id bits; mode is applied last. */
    if (fchmodat(rootfd, path, mode & 07777, 0) != 0) {
        fprintf(stderr, "tsk-unpack: chmod %s/%s: %s\n", root, path, strerror(errno));
        return -1;
    }
    return 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int do_xattr(void) {
    static char path[FIELD_MAX], name[FIELD_MAX], hex[2 * FIELD_MAX + 2], value[FIELD_MAX + 1];
    if (need(path, sizeof path) || need(name, sizeof name) || need(hex, sizeof hex)) return -1;
    size_t len = strlen(hex);
    if (len % 2 != 0) {
        fprintf(stderr, "tsk-unpack: odd hex value for %s\n", name);
        return -1;
    }
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            fprintf(stderr, "tsk-unpack: bad hex value for %s\n", name);
            return -1;
        }
        value[i] = (char)(hi * 16 + lo);
    }
    char full[2 * FIELD_MAX + 2];
    snprintf(full, sizeof full, "%s/%s", root, path);
    if (lsetxattr(full, name, value, len / 2, 0) != 0) {
        fprintf(stderr, "tsk-unpack: setxattr %s on %s: %s\n", name, full, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: tsk-unpack ROOT < ops\n");
        return 2;
    }
    root = argv[1];
    rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        fprintf(stderr, "tsk-unpack: open %s: %s\n", root, strerror(errno));
        return 1;
    }
    umask(0);
    char op[8];
    for (;;) {
        int r = field(op, sizeof op);
        if (r == 0) return 0;
        if (r < 0) return 1;
        if (strcmp(op, "N") == 0) {
            if (do_mknod()) return 1;
        } else if (strcmp(op, "X") == 0) {
            if (do_xattr()) return 1;
        } else {
            fprintf(stderr, "tsk-unpack: unknown op \"%s\"\n", op);
            return 1;
        }
    }
}
