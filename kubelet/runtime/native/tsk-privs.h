/*
 * The last steps before a container process execs, shared by tsk-shim (the
 * init) and tsk-exec (processes entered later), in runc's order:
 *   1. cut the capability bounding set;
 *   2. without no_new_privs, load the seccomp filter now, while we still
 *      hold CAP_SYS_ADMIN (the kernel refuses it to an unprivileged process
 *      that has not set no_new_privs);
 *   3. switch user and groups, keeping capabilities across setuid;
 *   4. set the effective and permitted sets (inheritable and ambient empty,
 *      as runc since CVE-2022-24769);
 *   5. no_new_privs when asked;
 *   6. with no_new_privs, load the filter last, so it constrains as little
 *      of our own set-up as possible.
 *
 * Capabilities the runtime itself lacks (its own bounding set) are left
 * out rather than failing: a container never gets more than its runtime has,
 * and a privileged container asks for "everything".
 *
 * The seccomp file is written by the TypeScript side (container/seccomp.ts)
 * and read by the caller before it enters the container's mount namespace
 * (read_seccomp_file), one record a line, space-separated:
 *   default ACTION ERRNO                    the action for unlisted syscalls
 *   arch NAME                               an extra architecture (libseccomp name: x86, x32, ...)
 *   rule SYSCALL ACTION ERRNO [INDEX OP VALUE VALUE2]...
 * ACTION: allow, errno, kill_thread, kill_process, trap, log, trace (ERRNO is
 * the errno or trace value, 0 otherwise); OP: ne, lt, le, eq, ge, gt,
 * masked_eq (VALUE is the mask, VALUE2 the datum). Syscalls this libseccomp
 * does not know are skipped, as runc does, so a newer profile still loads.
 * Linked with -lseccomp (scripts/build-native.sh).
 */
#ifndef TSK_PRIVS_H
#define TSK_PRIVS_H

#include "tsk-common.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>

struct privs {
  uid_t uid;
  gid_t gid;
  int ngids;
  gid_t *gids;
  unsigned long long caps;
  int no_new_privs;
  const char *seccomp; /* the seccomp file's text; NULL: no filter (Unconfined, privileged) */
  const struct sock_fprog *seccomp_bpf; /* that text compiled (seccomp_bpf_cached); NULL: built from the text */
};

/* Reads the seccomp file while its path still resolves (before pivot_root or setns). */
static char *read_seccomp_file(const char *path, char *msg, size_t msgn) {
  if (!path) return NULL;
  char *text = read_file(path);
  if (!text) snprintf(msg, msgn, "read seccomp profile %s: %s", path, strerror(errno));
  return text;
}

static int seccomp_action(const char *name, const char *ret, uint32_t *out) {
  uint16_t r = (uint16_t)strtoul(ret ? ret : "0", NULL, 10);
  if (!strcmp(name, "allow")) *out = SCMP_ACT_ALLOW;
  else if (!strcmp(name, "errno")) *out = SCMP_ACT_ERRNO(r);
  else if (!strcmp(name, "kill_thread")) *out = SCMP_ACT_KILL_THREAD;
  else if (!strcmp(name, "kill_process")) *out = SCMP_ACT_KILL_PROCESS;
  else if (!strcmp(name, "trap")) *out = SCMP_ACT_TRAP;
  else if (!strcmp(name, "log")) *out = SCMP_ACT_LOG;
  else if (!strcmp(name, "trace")) *out = SCMP_ACT_TRACE(r);
  else return -1;
  return 0;
}

static int seccomp_op(const char *name, enum scmp_compare *out) {
  static const struct {
    const char *name;
    enum scmp_compare op;
  } ops[] = {{"ne", SCMP_CMP_NE}, {"lt", SCMP_CMP_LT}, {"le", SCMP_CMP_LE}, {"eq", SCMP_CMP_EQ},
             {"ge", SCMP_CMP_GE}, {"gt", SCMP_CMP_GT}, {"masked_eq", SCMP_CMP_MASKED_EQ}};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (!strcmp(name, ops[i].name)) {
      *out = ops[i].op;
      return 0;
    }
  return -1;
}

/* Splits a line on spaces into at most max fields; returns the count. */
static int split_fields(char *line, char **f, int max) {
  int n = 0;
  for (char *save = NULL, *t = strtok_r(line, " ", &save); t && n < max; t = strtok_r(NULL, " ", &save)) f[n++] = t;
  return n;
}

/* One "rule" record into ctx. Returns 0, or -1 with msg set. */
static int seccomp_rule(scmp_filter_ctx ctx, uint32_t def, char **f, int n, int lineno, char *msg, size_t msgn) {
  uint32_t act;
  if (n < 4 || (n - 4) % 4 != 0 || seccomp_action(f[2], f[3], &act) < 0) {
    snprintf(msg, msgn, "seccomp line %d: bad rule", lineno);
    return -1;
  }
  /* libseccomp refuses a rule equal to the default action; it would change nothing anyway. */
  if (act == def) return 0;
  int nr = seccomp_syscall_resolve_name(f[1]);
  if (nr == __NR_SCMP_ERROR) return 0;
  struct scmp_arg_cmp args[6];
  unsigned nargs = 0;
  for (int i = 4; i + 3 < n && nargs < 6; i += 4, nargs++) {
    enum scmp_compare op;
    if (seccomp_op(f[i + 1], &op) < 0) {
      snprintf(msg, msgn, "seccomp line %d: unknown operator %s", lineno, f[i + 1]);
      return -1;
    }
    args[nargs].arg = (unsigned)atoi(f[i]);
    args[nargs].op = op;
    args[nargs].datum_a = strtoull(f[i + 2], NULL, 10);
    args[nargs].datum_b = strtoull(f[i + 3], NULL, 10);
  }
  int rc = seccomp_rule_add_array(ctx, act, nr, nargs, args);
  if (rc < 0) {
    snprintf(msg, msgn, "seccomp_rule_add %s: %s", f[1], strerror(-rc));
    return -1;
  }
  return 0;
}

/*
 * Builds the filter of a seccomp file's text into *out. Returns NULL, or
 * the failing step with the detail in msg.
 */
static const char *build_seccomp(const char *profile, scmp_filter_ctx *out, char *msg, size_t msgn) {
  msg[0] = 0;
  *out = NULL;
  char *text = strdup(profile);
  if (!text) return "load seccomp profile";
  char *save = NULL, *line = strtok_r(text, "\n", &save);
  char *f[4 + 4 * 6];
  int n = line ? split_fields(line, f, 3) : 0;
  uint32_t def;
  if (n != 3 || strcmp(f[0], "default") || seccomp_action(f[1], f[2], &def) < 0) {
    free(text);
    snprintf(msg, msgn, "the first line must be \"default ACTION ERRNO\"");
    return "load seccomp profile";
  }
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx) {
    free(text);
    return "seccomp_init";
  }
  /* no_new_privs is ours to decide (allowPrivilegeEscalation), not libseccomp's. */
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  const char *step = NULL;
  int lineno = 1;
  while (!step && (line = strtok_r(NULL, "\n", &save))) {
    lineno++;
    n = split_fields(line, f, (int)(sizeof f / sizeof f[0]));
    if (n == 0) continue;
    if (!strcmp(f[0], "arch") && n == 2) {
      uint32_t arch = seccomp_arch_resolve_name(f[1]);
      int rc = arch ? seccomp_arch_add(ctx, arch) : -EINVAL;
      if (rc < 0 && rc != -EEXIST) {
        snprintf(msg, msgn, "%s: %s", f[1], strerror(-rc));
        step = "seccomp_arch_add";
      }
    } else if (!strcmp(f[0], "rule")) {
      if (seccomp_rule(ctx, def, f, n, lineno, msg, msgn) < 0) step = "build seccomp filter";
    } else {
      snprintf(msg, msgn, "seccomp line %d: unknown record %s", lineno, f[0]);
      step = "build seccomp filter";
    }
  }
  free(text);
  if (step) seccomp_release(ctx);
  else *out = ctx;
  return step;
}

/* Builds the filter of a seccomp file's text and loads it. Returns NULL, or the failing step with the detail in msg. */
static const char *load_seccomp(const char *profile, char *msg, size_t msgn) {
  scmp_filter_ctx ctx;
  const char *step = build_seccomp(profile, &ctx, msg, msgn);
  if (step) return step;
  int rc = seccomp_load(ctx);
  if (rc < 0) {
    snprintf(msg, msgn, "%s", strerror(-rc));
    step = "seccomp_load";
  }
  seccomp_release(ctx);
  return step;
}

/*
 * A profile's compiled filter (classic BPF, as seccomp_load would load it:
 * no flags, no_new_privs left to the caller), from the cache directory
 * `dir` or compiled with libseccomp and added to it. Compiling the default
 * profile (some 400 rules) costs libseccomp about 10 ms of CPU, every
 * container start; most containers of a node share a few profiles. A
 * cache file is named by a hash of the text and holds the text itself,
 * NUL, then the program: a hit compares the whole text, so a hash
 * collision can never load another profile's filter. Returns NULL when it
 * cannot be had (a bad profile included): the caller then builds and loads
 * the text itself (load_seccomp), which reports the error as before.
 */
__attribute__((unused)) static struct sock_fprog *seccomp_bpf_cached(const char *text, const char *dir) {
  if (!text || !dir) return NULL;
  size_t tlen = strlen(text);
  uint64_t h = 14695981039346656037ULL; /* FNV-1a 64 */
  for (size_t i = 0; i < tlen; i++) h = (h ^ (unsigned char)text[i]) * 1099511628211ULL;
  char path[PATH_MAX], tmp[PATH_MAX];
  snprintf(path, sizeof path, "%s/%016llx", dir, (unsigned long long)h);
  char *bytes = NULL;
  size_t len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd >= 0 && fstat(fd, &st) == 0 && (size_t)st.st_size > tlen + 1 && (bytes = malloc((size_t)st.st_size))) {
    len = (size_t)st.st_size;
    if (pread(fd, bytes, len, 0) != (ssize_t)len || memcmp(bytes, text, tlen) || bytes[tlen] ||
        (len - tlen - 1) % sizeof(struct sock_filter)) {
      free(bytes);
      bytes = NULL;
    }
  }
  if (fd >= 0) close(fd);
  if (!bytes) {
    /* A miss: compile, export through a memfd (libseccomp 2.5 exports to an fd only), and cache it. */
    char msg[256];
    scmp_filter_ctx ctx;
    if (build_seccomp(text, &ctx, msg, sizeof msg)) return NULL;
    int mfd = memfd_create("tsk-seccomp-bpf", MFD_CLOEXEC);
    off_t blen = -1;
    if (mfd >= 0 && seccomp_export_bpf(ctx, mfd) == 0) blen = lseek(mfd, 0, SEEK_END);
    seccomp_release(ctx);
    if (blen <= 0 || blen % (off_t)sizeof(struct sock_filter) || !(bytes = malloc(tlen + 1 + (size_t)blen))) {
      if (mfd >= 0) close(mfd);
      return NULL;
    }
    len = tlen + 1 + (size_t)blen;
    memcpy(bytes, text, tlen + 1);
    ssize_t got = pread(mfd, bytes + tlen + 1, (size_t)blen, 0);
    close(mfd);
    if (got != blen) {
      free(bytes);
      return NULL;
    }
    /* Best effort: a cache that cannot be written only costs the next container the compile. */
    mkdir(dir, 0700);
    snprintf(tmp, sizeof tmp, "%s/.%016llx.%d.tmp", dir, (unsigned long long)h, (int)getpid());
    int wfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (wfd >= 0) {
      int ok = write_all(wfd, bytes, len) == 0;
      close(wfd);
      if (!ok || rename(tmp, path) < 0) unlink(tmp);
    }
  }
  size_t count = (len - tlen - 1) / sizeof(struct sock_filter);
  struct sock_fprog *prog = count <= BPF_MAXINSNS ? malloc(sizeof *prog) : NULL;
  if (!prog) {
    /* Longer than the kernel takes (and than sock_fprog counts): libseccomp's own load reports it. */
    free(bytes);
    return NULL;
  }
  prog->len = (unsigned short)count;
  prog->filter = (struct sock_filter *)(void *)(bytes + tlen + 1);
  return prog;
}

/* Loads the filter: the compiled program when the caller has it, else built from the text. */
static const char *apply_seccomp(const struct privs *p, char *msg, size_t msgn) {
  if (!p->seccomp_bpf) return load_seccomp(p->seccomp, msg, msgn);
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, p->seccomp_bpf) == 0) return NULL;
  snprintf(msg, msgn, "%s", strerror(errno));
  return "seccomp_load";
}

/* Steps 1-6 above. Returns NULL, or the failing step with errno or msg describing it. */
static const char *drop_privileges(const struct privs *p, char *msg, size_t msgn) {
  msg[0] = 0;
  int lc = last_cap();
  unsigned long long caps = p->caps;
  for (int c = 0; c <= lc && c < 64; c++) {
    if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 1) caps &= ~(1ULL << c);
    if (!(caps & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) return "prctl(PR_CAPBSET_DROP)";
  }
  const char *step;
  if (p->seccomp && !p->no_new_privs && (step = apply_seccomp(p, msg, msgn))) return step;
  if ((step = switch_user(p->uid, p->gid, p->ngids, p->gids))) return step;
  if ((step = apply_caps(caps, -1))) return step; /* bounding set already cut above */
  if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return "prctl(PR_SET_NO_NEW_PRIVS)";
  if (p->seccomp && p->no_new_privs && (step = apply_seccomp(p, msg, msgn))) return step;
  return NULL;
}

#endif
