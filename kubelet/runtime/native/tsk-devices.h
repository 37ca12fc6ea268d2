/*
 * Device access control for cgroup v2: an eBPF program of type
 * BPF_PROG_TYPE_CGROUP_DEVICE, built here from rules, loaded with BPF_PROG_LOAD
 * and attached to a container's cgroup with BPF_PROG_ATTACH (as runc's
 * libcontainer/cgroups/devices does; this is our own encoding). cgroup v1 has
 * the devices controller instead, whose files the TypeScript side writes.
 *
 * Rules come from the spec, one a line: "allow c 1:3 rwm" or "deny b *:* rwm"
 * (type a, b or c; major and minor a number or *; access a subset of rwm).
 * The first rule that matches decides; nothing matching is denied.
 *
 * The kernel calls the program for every mknod and every open of a device
 * node with a context of { access_type = access << 16 | type, major, minor };
 * it returns 1 to allow, 0 to refuse (EPERM). The attachment belongs to the
 * cgroup: it outlives the process that made it and goes with the cgroup.
 */
#ifndef TSK_DEVICES_H
#define TSK_DEVICES_H

#include "tsk-common.h"

#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

#define DEV_WILDCARD (-1L)
#define DEV_MAX_RULES 64
/* 6 instructions load the context; a rule takes at most 8 (4 tests, one of
 * them 3 long, and return); 2 more for the default. */
#define DEV_RULE_MAX_INSNS 8
#define DEV_MAX_INSNS (6 + DEV_RULE_MAX_INSNS * DEV_MAX_RULES + 2)

struct devrule {
  int allow;
  char type;    /* 'a', 'b' or 'c' */
  long major;   /* DEV_WILDCARD for * */
  long minor;
  unsigned acc; /* BPF_DEVCG_ACC_* bits */
};

static long parse_devnum(const char *s) {
  if (!strcmp(s, "*")) return DEV_WILDCARD;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || end == s || v < 0 || v > 0xfffff) return -2;
  return v;
}

/* Parses "allow c 1:3 rwm"; returns 0, or -1 when the line is malformed. */
__attribute__((unused)) static int devrule_parse(const char *line, struct devrule *r) {
  char verb[8], type, maj[16], min[16], acc[8];
  if (sscanf(line, "%7s %c %15[^: ]:%15s %7s", verb, &type, maj, min, acc) != 5) return -1;
  if (!strcmp(verb, "allow")) r->allow = 1;
  else if (!strcmp(verb, "deny")) r->allow = 0;
  else return -1;
  if (type != 'a' && type != 'b' && type != 'c') return -1;
  r->type = type;
  r->major = parse_devnum(maj);
  r->minor = parse_devnum(min);
  if (r->major == -2 || r->minor == -2) return -1;
  r->acc = 0;
  for (const char *p = acc; *p; p++) {
    if (*p == 'r') r->acc |= BPF_DEVCG_ACC_READ;
    else if (*p == 'w') r->acc |= BPF_DEVCG_ACC_WRITE;
    else if (*p == 'm') r->acc |= BPF_DEVCG_ACC_MKNOD;
    else return -1;
  }
  return r->acc ? 0 : -1;
}

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  struct bpf_insn i;
  memset(&i, 0, sizeof i);
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

#define ACC_ALL (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)

/*
 * Builds the program into out (room for DEV_MAX_INSNS); returns the number
 * of instructions. Registers: r2 device type, r3 requested access, r4 major,
 * r5 minor. Each rule is a block of "if this field differs, jump to the next
 * block" tests ending in "return verdict". A rule without tests always
 * returns, so nothing after it is emitted: the verifier rejects unreachable
 * instructions.
 */
__attribute__((unused)) static int devfilter_build(const struct devrule *rules, int n, struct bpf_insn *out) {
  int len = 0;
  out[len++] = insn(BPF_LDX | BPF_MEM | BPF_W, 2, 1, offsetof(struct bpf_cgroup_dev_ctx, access_type), 0);
  out[len++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, 3, 2, 0, 0);
  out[len++] = insn(BPF_ALU64 | BPF_RSH | BPF_K, 3, 0, 0, 16);
  out[len++] = insn(BPF_ALU64 | BPF_AND | BPF_K, 2, 0, 0, 0xffff);
  out[len++] = insn(BPF_LDX | BPF_MEM | BPF_W, 4, 1, offsetof(struct bpf_cgroup_dev_ctx, major), 0);
  out[len++] = insn(BPF_LDX | BPF_MEM | BPF_W, 5, 1, offsetof(struct bpf_cgroup_dev_ctx, minor), 0);
  for (int k = 0; k < n && k < DEV_MAX_RULES; k++) {
    const struct devrule *r = &rules[k];
    struct bpf_insn block[DEV_RULE_MAX_INSNS];
    int tests[4], nt = 0, bl = 0;
    if (r->type != 'a') {
      tests[nt++] = bl;
      block[bl++] = insn(BPF_JMP | BPF_JNE | BPF_K, 2, 0, 0, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
    }
    if ((r->acc & ACC_ALL) != ACC_ALL) {
      /* Allowed only if every requested bit is in the rule: (requested & ~rule) == 0. */
      block[bl++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, 6, 3, 0, 0);
      block[bl++] = insn(BPF_ALU64 | BPF_AND | BPF_K, 6, 0, 0, (int32_t)(~r->acc & ACC_ALL));
      tests[nt++] = bl;
      block[bl++] = insn(BPF_JMP | BPF_JNE | BPF_K, 6, 0, 0, 0);
    }
    if (r->major != DEV_WILDCARD) {
      tests[nt++] = bl;
      block[bl++] = insn(BPF_JMP | BPF_JNE | BPF_K, 4, 0, 0, (int32_t)r->major);
    }
    if (r->minor != DEV_WILDCARD) {
      tests[nt++] = bl;
      block[bl++] = insn(BPF_JMP | BPF_JNE | BPF_K, 5, 0, 0, (int32_t)r->minor);
    }
    block[bl++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, r->allow ? 1 : 0);
    block[bl++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    /* A failed test skips to the first instruction after this block. */
    for (int t = 0; t < nt; t++) block[tests[t]].off = (int16_t)(bl - tests[t] - 1);
    memcpy(out + len, block, sizeof block[0] * (size_t)bl);
    len += bl;
    if (nt == 0) return len;
  }
  out[len++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
  out[len++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  return len;
}

/*
 * Loads the program and attaches it to the cgroup directory. Returns NULL, or
 * the failing step (errno set; for a verifier rejection the kernel's log is
 * in log, which may be NULL).
 */
__attribute__((unused)) static const char *devfilter_attach(const char *cgroup_dir, const struct bpf_insn *prog, int n,
                                                            char *log, size_t log_size) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t)(uintptr_t)prog;
  attr.insn_cnt = (uint32_t)n;
  attr.license = (uint64_t)(uintptr_t) "Apache-2.0";
  int prog_fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  if (prog_fd < 0 && errno != EPERM && log && log_size > 0) {
    /* Load again with the verifier's log: only the failure path pays for it. */
    int saved = errno;
    attr.log_buf = (uint64_t)(uintptr_t)log;
    attr.log_size = (uint32_t)log_size;
    attr.log_level = 1;
    log[0] = 0;
    syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
    errno = saved;
  }
  if (prog_fd < 0) return "bpf(BPF_PROG_LOAD) device filter";
  int cg = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0) {
    int saved = errno;
    close(prog_fd);
    errno = saved;
    return "open cgroup";
  }
  memset(&attr, 0, sizeof attr);
  attr.target_fd = (uint32_t)cg;
  attr.attach_bpf_fd = (uint32_t)prog_fd;
  attr.attach_type = BPF_CGROUP_DEVICE;
  /* MULTI: programs of parent cgroups keep running too (all must allow). */
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  int rc = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr);
  int saved = errno;
  close(cg);
  close(prog_fd);
  errno = saved;
  return rc < 0 ? "bpf(BPF_PROG_ATTACH) device filter" : NULL;
}

#endif
