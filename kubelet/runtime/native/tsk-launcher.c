/*
 * tsk-launcher: a small resident process that starts the runtime's helpers
 * for the Node side, because forking a tiny C process costs a fraction of
 * what forking a large Node process does (child_process.spawn of /bin/true
 * takes milliseconds from a busy Node process).
 *
 *   tsk-launcher NATIVE_DIR
 *
 * Requests on stdin, one a line, tab-separated:
 *   ID\tshim\tSTATE_DIR                    create a container (execs tsk-shim)
 *   ID\tsandbox-create\tDIR\tHOSTNAME[\thostipc][\tsharepid][\tuserns=HOST:LEN]
 *                                      sandbox namespaces (tsk-sandbox-ops.h);
 *                                      hostipc keeps the node's IPC namespace,
 *                                      sharepid adds a pod PID namespace,
 *                                      userns= a pod user namespace
 *   ID\tsandbox-remove\tDIR
 *   ID\texec\tNETNS\tINPUT\tPROGRAM[\tARG...]
 *                                      run a program (looked up in PATH) in
 *                                      the network namespace at path NETNS
 *                                      ("-": ours; nsenter --net without its
 *                                      exec), its stdin INPUT ("-": /dev/null,
 *                                      else "x" and the bytes in hex); CODE is
 *                                      its exit code (128+N: signal N)
 * Replies on stdout, one line each, in completion order:
 *   ID\tCODE\tMESSAGE      (CODE 0: MESSAGE is the result, e.g. the init's PID)
 * exec sends its program's output before that line, in memory (no files:
 * on the node's disk every file made and deleted costs), hex, in lines
 * short enough to be atomic:
 *   ID\t+o\tHEX           (stdout)      ID\t+e\tHEX   (stderr)
 * Every request runs in its own forked child, so a slow one never holds up
 * the others. Replies are single write()s shorter than PIPE_BUF, hence atomic.
 * The launcher exits when stdin closes (its Node process died or closed it);
 * shims it started are detached and keep running.
 */
#include "tsk-sandbox-ops.h"

#include <signal.h>
#include <sys/mman.h>

static const char *native_dir;

/* The most tab-separated fields a request has (exec: 4 and a program's argv). */
#define MAX_FIELDS 32

static void reply(const char *id, int code, const char *msg) {
  char line[3500];
  int n = snprintf(line, sizeof line, "%s\t%d\t", id, code);
  for (const char *p = msg; *p && n < (int)sizeof line - 2; p++) line[n++] = (*p == '\n' || *p == '\t') ? ' ' : *p;
  while (n > 0 && line[n - 1] == ' ') n--;
  line[n++] = '\n';
  write_all(1, line, (size_t)n);
}

/* Runs a sandbox op with stderr captured in memory, and replies with its result. */
static void sandbox_op(const char *id, int create, char **args, int nargs) {
  struct sandbox_opts opts;
  int bad = create && (nargs < 2 || parse_sandbox_opts(args + 2, nargs - 2, &opts) < 0);
  if (bad || (!create && nargs != 1)) {
    reply(id, 2, "bad request: wrong number of arguments or an unknown option");
    return;
  }
  int mfd = memfd_create("tsk-launcher-err", MFD_CLOEXEC);
  if (mfd >= 0) dup2(mfd, 2);
  int rc = create ? create_sandbox(args[0], args[1], &opts) : remove_sandbox(args[0]);
  char msg[3000] = "";
  if (mfd >= 0) {
    ssize_t r = pread(mfd, msg, sizeof msg - 1, 0);
    msg[r > 0 ? r : 0] = 0;
  }
  reply(id, rc, msg);
}

/* Writes a memfd's bytes as "ID\t+KIND\tHEX" lines, each one atomic write (below PIPE_BUF). */
static void reply_output(const char *id, char kind, int fd) {
  static const char hex[] = "0123456789abcdef";
  unsigned char in[1800];
  char line[64 + 2 * sizeof in];
  off_t at = 0;
  ssize_t r;
  while ((r = pread(fd, in, sizeof in, at)) > 0) {
    at += r;
    int n = snprintf(line, sizeof line, "%s\t+%c\t", id, kind);
    for (ssize_t i = 0; i < r; i++) {
      line[n++] = hex[in[i] >> 4];
      line[n++] = hex[in[i] & 15];
    }
    line[n++] = '\n';
    write_all(1, line, (size_t)n);
  }
}

static int unhex(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* exec: the program in a grandchild (in NETNS), stdin and output in memfds; replies with the output and its exit code once it ends. */
static void run_program(const char *id, char **fields, int n) {
  char *argv[MAX_FIELDS];
  for (int i = 2; i < n; i++) argv[i - 2] = fields[i];
  argv[n - 2] = NULL;
  const char *netns = fields[0], *input = fields[1];
  int ifd = -1;
  if (!strcmp(input, "-")) {
    ifd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  } else if (input[0] == 'x' && (ifd = memfd_create("tsk-launcher-in", MFD_CLOEXEC)) >= 0) {
    size_t len = strlen(input + 1) / 2;
    unsigned char *buf = malloc(len + 1);
    for (size_t i = 0; buf && i < len; i++) {
      int hi = unhex(input[1 + 2 * i]), lo = unhex(input[2 + 2 * i]);
      if (hi < 0 || lo < 0) {
        reply(id, 127, "exec: the input is not hex");
        return;
      }
      buf[i] = (unsigned char)(hi << 4 | lo);
    }
    if (!buf || write_all(ifd, (const char *)buf, len) < 0 || lseek(ifd, 0, SEEK_SET) < 0) {
      reply(id, 127, "exec: cannot hold the input");
      return;
    }
    free(buf);
  }
  int ofd = memfd_create("tsk-launcher-out", MFD_CLOEXEC);
  int efd = memfd_create("tsk-launcher-err", MFD_CLOEXEC);
  if (ifd < 0 || ofd < 0 || efd < 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "exec: input and output files: %s", strerror(errno));
    reply(id, 127, msg);
    return;
  }
  pid_t pid = fork();
  if (pid < 0) {
    reply(id, 127, strerror(errno));
    return;
  }
  if (pid == 0) {
    dup2(ifd, 0);
    dup2(ofd, 1);
    dup2(efd, 2);
    if (strcmp(netns, "-")) {
      int fd = open(netns, O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
        fprintf(stderr, "%s network namespace %s: %s\n", fd < 0 ? "open" : "setns to", netns, strerror(errno));
        _exit(127);
      }
      close(fd);
    }
    execvp(argv[0], argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  reply_output(id, 'o', ofd);
  reply_output(id, 'e', efd);
  reply(id, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), "");
}

static void handle(char *line) {
  char *fields[MAX_FIELDS];
  int n = 0;
  for (char *save = NULL, *f = strtok_r(line, "\t", &save); f && n < MAX_FIELDS - 1; f = strtok_r(NULL, "\t", &save)) fields[n++] = f;
  if (n < 2) return;
  const char *id = fields[0], *verb = fields[1];
  pid_t pid = fork();
  if (pid < 0) {
    reply(id, 1, strerror(errno));
    return;
  }
  if (pid > 0) return;
  /* Child: the defaults, not the launcher's auto-reaping, for whatever it runs. */
  signal(SIGCHLD, SIG_DFL);
  if (!strcmp(verb, "shim") && n == 3) {
    char shim[PATH_MAX];
    snprintf(shim, sizeof shim, "%s/tsk-shim", native_dir);
    char *argv[] = {shim, fields[2], "--reqid", (char *)id, NULL};
    execv(shim, argv);
    char msg[PATH_MAX + 64];
    snprintf(msg, sizeof msg, "exec %s: %s", shim, strerror(errno));
    reply(id, 1, msg);
  } else if (!strcmp(verb, "sandbox-create")) {
    sandbox_op(id, 1, fields + 2, n - 2);
  } else if (!strcmp(verb, "sandbox-remove")) {
    sandbox_op(id, 0, fields + 2, n - 2);
  } else if (!strcmp(verb, "exec") && n >= 5) {
    run_program(id, fields + 2, n - 2);
  } else {
    reply(id, 2, "bad request: unknown verb");
  }
  _exit(0);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: tsk-launcher NATIVE_DIR\n");
    return 2;
  }
  native_dir = argv[1];
  /* Children are reaped by the kernel: replies travel on stdout, not exit codes. */
  signal(SIGCHLD, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  char buf[65536];
  size_t len = 0;
  for (;;) {
    ssize_t r = read(0, buf + len, sizeof buf - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    len += (size_t)r;
    char *start = buf, *nl;
    while ((nl = memchr(start, '\n', len - (size_t)(start - buf)))) {
      *nl = 0;
      handle(start);
      start = nl + 1;
    }
    len -= (size_t)(start - buf);
    memmove(buf, start, len);
    if (len == sizeof buf) len = 0; /* an absurdly long line: drop it */
  }
}
