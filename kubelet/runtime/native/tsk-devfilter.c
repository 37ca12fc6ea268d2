/*
 * tsk-devfilter: the cgroup v2 device filter (tsk-devices.h) on its own, for
 * tests and for operators checking a host.
 *
 *   tsk-devfilter dump RULE...               prints the eBPF program, one
 *                                            instruction a line:
 *                                            "CODE DST SRC OFF IMM" (CODE hex)
 *   tsk-devfilter attach CGROUP_DIR RULE...  loads it and attaches it to a
 *                                            cgroup v2 directory
 *
 * RULE is one argument such as "allow c 1:3 rwm". tsk-shim attaches the same
 * program, built from the rules in its spec, before the container's init joins
 * its cgroup.
 */
#include "tsk-devices.h"

static int parse_rules(int argc, char **argv, struct devrule *rules) {
  if (argc > DEV_MAX_RULES) {
    fprintf(stderr, "tsk-devfilter: at most %d rules\n", DEV_MAX_RULES);
    return -1;
  }
  for (int i = 0; i < argc; i++) {
    if (devrule_parse(argv[i], &rules[i]) < 0) {
      fprintf(stderr, "tsk-devfilter: rule %d \"%s\": expected \"allow|deny a|b|c MAJOR:MINOR ACCESS\" (MAJOR, MINOR a number or *, ACCESS of rwm)\n", i + 1, argv[i]);
      return -1;
    }
  }
  return argc;
}

int main(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "dump") && strcmp(argv[1], "attach")) || (!strcmp(argv[1], "attach") && argc < 3)) {
    fprintf(stderr, "usage: tsk-devfilter dump RULE... | tsk-devfilter attach CGROUP_DIR RULE...\n");
    return 2;
  }
  int attach = !strcmp(argv[1], "attach");
  int first = attach ? 3 : 2;
  struct devrule rules[DEV_MAX_RULES];
  int n = parse_rules(argc - first, argv + first, rules);
  if (n < 0) return 2;
  struct bpf_insn prog[DEV_MAX_INSNS];
  int len = devfilter_build(rules, n, prog);
  if (!attach) {
    for (int i = 0; i < len; i++)
      printf("%02x %d %d %d %d\n", prog[i].code, prog[i].dst_reg, prog[i].src_reg, prog[i].off, prog[i].imm);
    return 0;
  }
  static char log[65536];
  const char *step = devfilter_attach(argv[2], prog, len, log, sizeof log);
  if (step) {
    fprintf(stderr, "tsk-devfilter: %s %s: %s\n%s", step, argv[2], strerror(errno), log);
    return 1;
  }
  return 0;
}
