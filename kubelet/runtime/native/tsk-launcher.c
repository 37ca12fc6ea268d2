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
 *   ID\texec\tIN\tOUT\tERR\tPROGRAM[\tARG...]
 *                                      run a program (looked up in PATH) with
 *                                      stdin from file IN ("-": /dev/null) and
 *                                      stdout, stderr into files OUT and ERR;
 *                                      CODE is its exit code (128+N: signal N)
 * Replies on stdout, one line each, in completion order:
 *   ID\tCODE\tMESSAGE      (CODE 0: MESSAGE is the result, e.g. the init's PID)
 * Every request runs in its own forked child, so a slow one never holds up
 * the others. Replies are single write()s shorter than PIPE_BUF, hence atomic.
 * The launcher exits when stdin closes (its Node process died or closed it);
 * shims it started are detached and keep running.
 */
#include "tsk-sandbox-ops.h"

#include <signal.h>
#include <sys/mman.h>

static const char *native_dir;

/* The most tab-separated fields a request has (exec: 5 and a program's argv). */
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

/* exec: the program in a grandchild, its output in files; replies with its exit code once it ends. */
static void run_program(const char *id, char **fields, int n) {
  char *argv[MAX_FIELDS];
  for (int i = 3; i < n; i++) argv[i - 3] = fields[i];
  argv[n - 3] = NULL;
  const char *in = strcmp(fields[0], "-") ? fields[0] : "/dev/null";
  int ifd = open(in, O_RDONLY | O_CLOEXEC);
  int ofd = open(fields[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int efd = open(fields[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (ifd < 0 || ofd < 0 || efd < 0) {
    char msg[PATH_MAX + 64];
    snprintf(msg, sizeof msg, "exec: open %s: %s", ifd < 0 ? in : ofd < 0 ? fields[1] : fields[2], strerror(errno));
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
    execvp(argv[0], argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
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
  } else if (!strcmp(verb, "exec") && n >= 6) {
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
