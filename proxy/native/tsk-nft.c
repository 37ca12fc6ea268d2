/*
 * tsk-nft: a long-lived nftables helper for the proxy's nftables mode. The
 * proxy starts it once, inside its own network namespace, and sends it one
 * request per sync instead of starting `nft -f -` each time (20-70 ms of
 * process start and library set-up under load, more than a one-service
 * change itself costs).
 *
 * It loads libnftables.so.1 with dlopen (the library of the nftables
 * package; its headers, libnftables-dev, are not needed: the few functions
 * used are declared below) and keeps one context. Each request is one
 * input run as a file, as `nft -f` runs one: one transaction, applied whole
 * or not at all. The input is streamed: a thread runs
 * nft_run_cmd_from_filename on the read end of a pipe while this one copies
 * the request's chunks into it as they arrive, so nft parses the start of
 * a full sync's input (megabytes) while the proxy still renders the rest
 * (nft reads a file as it parses it; it only evaluates and commits once
 * the input has ended). A file rather than nft_run_cmd_from_buffer because
 * nft 1.0.6 reports errors in a buffer without the line number and with the
 * text of the wrong line; from a file they read
 * "/proc/self/fd/N:LINE:COL: Error: ..." as nft -f's do (the text of the
 * line it cannot read back from a pipe: the proxy has the input and names it).
 *
 * Protocol on stdin/stdout, lengths as 4-byte big-endian integers:
 *   request:  chunks, each a length then that many bytes of nft input, then
 *             a length of 0 (the end of the input)
 *   response: status (0 ok, 1 failed), output length, error length, the
 *             output (what a list command printed, terse: no set elements),
 *             then nft's error text.
 * Before the first request it writes one line "tsk-nft ready\n" (or
 * "tsk-nft: <why>\n" and exits 2), so the caller knows the library loaded.
 * It exits 0 when stdin closes (the proxy stopped or died).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* libnftables' API (nftables.h of nftables 1.0), declared here: no headers are installed. */
struct nft_ctx;
#define NFT_CTX_DEFAULT 0
/* "nft -t": lists leave out the elements of sets and maps (100,000 at 10,000 services). */
#define NFT_CTX_OUTPUT_TERSE (1u << 11)

static struct {
  struct nft_ctx *(*ctx_new)(uint32_t flags);
  int (*buffer_output)(struct nft_ctx *ctx);
  int (*buffer_error)(struct nft_ctx *ctx);
  const char *(*get_output_buffer)(struct nft_ctx *ctx);
  const char *(*get_error_buffer)(struct nft_ctx *ctx);
  unsigned int (*output_get_flags)(struct nft_ctx *ctx);
  void (*output_set_flags)(struct nft_ctx *ctx, unsigned int flags);
  int (*run_cmd_from_filename)(struct nft_ctx *ctx, const char *filename);
} nft;

static void die(const char *what) {
  fprintf(stdout, "tsk-nft: %s\n", what);
  fflush(stdout);
  exit(2);
}

static int load(void) {
  void *lib = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) die(dlerror());
  struct {
    void **slot;
    const char *name;
  } syms[] = {
      {(void **)&nft.ctx_new, "nft_ctx_new"},
      {(void **)&nft.buffer_output, "nft_ctx_buffer_output"},
      {(void **)&nft.buffer_error, "nft_ctx_buffer_error"},
      {(void **)&nft.get_output_buffer, "nft_ctx_get_output_buffer"},
      {(void **)&nft.get_error_buffer, "nft_ctx_get_error_buffer"},
      {(void **)&nft.output_get_flags, "nft_ctx_output_get_flags"},
      {(void **)&nft.output_set_flags, "nft_ctx_output_set_flags"},
      {(void **)&nft.run_cmd_from_filename, "nft_run_cmd_from_filename"},
  };
  for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
    *syms[i].slot = dlsym(lib, syms[i].name);
    if (!*syms[i].slot) die(dlerror());
  }
  return 0;
}

/* Reads exactly len bytes; 0 at a clean end of input before the first byte, -1 on error or a cut. */
static int read_all(int fd, void *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t r = read(fd, (char *)buf + got, len - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return got == 0 && r == 0 ? 0 : -1;
    got += (size_t)r;
  }
  return 1;
}

static int write_all(int fd, const void *buf, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, buf, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    buf = (const char *)buf + w;
    len -= (size_t)w;
  }
  return 0;
}

static void put_u32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static struct nft_ctx *ctx;

/* One request's nft run, on its own thread: reads the input from the pipe as it comes. */
struct job {
  int fd; /* the pipe's read end, closed once nft returns (a writer then gets EPIPE, not a wait) */
  char path[64];
  int failed;
};

static void *run_job(void *arg) {
  struct job *job = arg;
  job->failed = nft.run_cmd_from_filename(ctx, job->path) != 0;
  close(job->fd);
  return NULL;
}

/*
 * Copies one request's chunks from stdin into `out`, the first of `len`
 * bytes (its length already read), until the chunk of length 0. When nft
 * stopped reading (it failed before the end: EPIPE), the rest is read and
 * dropped, so the next request starts where it should. 0 at the end of the
 * request, -1 when stdin broke mid-request.
 */
static int copy_request(int out, size_t len) {
  static char chunk[1 << 16];
  int writing = 1;
  while (len > 0) {
    while (len > 0) {
      size_t n = len < sizeof chunk ? len : sizeof chunk;
      if (read_all(0, chunk, n) != 1) return -1;
      if (writing && write_all(out, chunk, n) != 0) writing = 0;
      len -= n;
    }
    unsigned char head[4];
    if (read_all(0, head, 4) != 1) return -1;
    len = get_u32(head);
  }
  return 0;
}

int main(void) {
  load();
  ctx = nft.ctx_new(NFT_CTX_DEFAULT);
  if (!ctx) die("nft_ctx_new failed");
  if (nft.buffer_output(ctx) != 0 || nft.buffer_error(ctx) != 0) die("cannot buffer nft's output");
  nft.output_set_flags(ctx, nft.output_get_flags(ctx) | NFT_CTX_OUTPUT_TERSE);
  /* A write to the pipe after nft stopped reading fails with EPIPE instead of ending the helper. */
  signal(SIGPIPE, SIG_IGN);
  /* Larger pipes (best effort): fewer switches between the proxy, this thread and nft's. */
  fcntl(0, F_SETPIPE_SZ, 1 << 20);
  if (write_all(1, "tsk-nft ready\n", 14) != 0) return 1;
  for (;;) {
    unsigned char head[4];
    int r = read_all(0, head, 4);
    if (r == 0) return 0;
    if (r < 0) return 1;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) die("cannot make a pipe");
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    struct job job = {.fd = p[0], .failed = 1};
    snprintf(job.path, sizeof job.path, "/proc/self/fd/%d", p[0]);
    pthread_t thread;
    if (pthread_create(&thread, NULL, run_job, &job) != 0) die("cannot start a thread");
    int copied = copy_request(p[1], get_u32(head));
    close(p[1]); /* nft sees the end of its input */
    pthread_join(thread, NULL);
    if (copied < 0) return 1;
    /* Each get returns what was written since the last one, and starts the buffer afresh. */
    const char *out = nft.get_output_buffer(ctx);
    const char *err = nft.get_error_buffer(ctx);
    size_t out_len = out ? strlen(out) : 0;
    size_t err_len = err ? strlen(err) : 0;
    unsigned char reply[12];
    put_u32(reply, job.failed ? 1 : 0);
    put_u32(reply + 4, (uint32_t)out_len);
    put_u32(reply + 8, (uint32_t)err_len);
    if (write_all(1, reply, sizeof reply) != 0 || write_all(1, out, out_len) != 0 || write_all(1, err, err_len) != 0) return 1;
  }
}
