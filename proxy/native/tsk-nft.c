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
 * or not at all. The input goes through a memory file (memfd) rather than
 * nft_run_cmd_from_buffer because nft 1.0.6 reports errors in a buffer
 * without the line number and with the text of the wrong line; from a file
 * they read "/proc/self/fd/N:LINE:COL: Error: ..." as nft -f's do.
 *
 * Protocol on stdin/stdout, lengths as 4-byte big-endian integers:
 *   request:  length, then that many bytes of nft input
 *   response: status (0 ok, 1 failed), output length, error length, the
 *             output (what a list command printed, terse: no set elements),
 *             then nft's error text.
 * Before the first request it writes one line "tsk-nft ready\n" (or
 * "tsk-nft: <why>\n" and exits 2), so the caller knows the library loaded.
 * It exits 0 when stdin closes (the proxy stopped or died).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

int main(void) {
  load();
  struct nft_ctx *ctx = nft.ctx_new(NFT_CTX_DEFAULT);
  if (!ctx) die("nft_ctx_new failed");
  if (nft.buffer_output(ctx) != 0 || nft.buffer_error(ctx) != 0) die("cannot buffer nft's output");
  nft.output_set_flags(ctx, nft.output_get_flags(ctx) | NFT_CTX_OUTPUT_TERSE);
  if (write_all(1, "tsk-nft ready\n", 14) != 0) return 1;
  int file = memfd_create("tsk-nft-input", 0);
  if (file < 0) die("memfd_create failed");
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", file);
  static char chunk[1 << 16];
  for (;;) {
    unsigned char head[4];
    int r = read_all(0, head, 4);
    if (r == 0) return 0;
    if (r < 0) return 1;
    size_t len = (size_t)head[0] << 24 | (size_t)head[1] << 16 | (size_t)head[2] << 8 | head[3];
    if (ftruncate(file, 0) != 0 || lseek(file, 0, SEEK_SET) != 0) die("cannot reset the input file");
    while (len > 0) {
      size_t n = len < sizeof chunk ? len : sizeof chunk;
      if (read_all(0, chunk, n) != 1) return 1;
      if (write_all(file, chunk, n) != 0) die("cannot write the input file");
      len -= n;
    }
    int failed = nft.run_cmd_from_filename(ctx, path) != 0;
    /* Each get returns what was written since the last one, and starts the buffer afresh. */
    const char *out = nft.get_output_buffer(ctx);
    const char *err = nft.get_error_buffer(ctx);
    size_t out_len = out ? strlen(out) : 0;
    size_t err_len = err ? strlen(err) : 0;
    unsigned char reply[12];
    put_u32(reply, failed ? 1 : 0);
    put_u32(reply + 4, (uint32_t)out_len);
    put_u32(reply + 8, (uint32_t)err_len);
    if (write_all(1, reply, sizeof reply) != 0 || write_all(1, out, out_len) != 0 || write_all(1, err, err_len) != 0) return 1;
  }
}
