/*
 * tsk-attach.h: the shim's attach socket, STATE_DIR/attach.sock, for a
 * container made with stdin or tty (Kubernetes' stdin, stdinOnce, tty).
 * The shim, not the kubelet, holds the main process's stdin (a pipe, or the
 * terminal's master): the process never reads EOF while nobody is attached,
 * and a kubelet killed and restarted reconnects to the same socket with
 * nothing lost. Only the shim's own fds: no process more per container, and
 * none of this at all for a container without stdin and tty.
 *
 * Frames, both ways: a type byte, the payload's length (4 bytes,
 * big-endian), the payload (at most ATT_FRAME_MAX bytes).
 *   client -> shim  'a' attach, the first frame: "1" with stdin, "0" output only
 *                   'i' stdin bytes           'c' the client's stdin ended
 *                   'r' the terminal's size, "COLUMNS ROWS"
 *   shim -> client  'o' stdout bytes, 'e' stderr bytes (a terminal's output is
 *                   all 'o'), from the moment of the attach on. The shim
 *                   closes the connection when the container has exited,
 *                   after its exit record is written.
 * Several clients may attach at once; their stdin is interleaved frame by
 * frame (as Docker's). With stdinOnce, the first client attached with stdin
 * is the only one whose input counts; when its stdin ends or it goes, the
 * container's stdin is closed for good (a terminal is hung up, as
 * containerd's shim does), and later clients get no stdin.
 * A client that falls ATT_OUT_MAX behind on output is dropped rather than
 * slow the container: its log keeps everything.
 */
#ifndef TSK_ATTACH_H
#define TSK_ATTACH_H

#include "tsk-common.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#define ATT_MAX_CLIENTS 16
#define ATT_FRAME_MAX 65536
#define ATT_OUT_MAX (1 << 20)
/* Clients are not read while this much stdin waits for the container to take it. */
#define ATT_PENDING_HIGH 65536

struct att_client {
  int fd;
  int hello, with_stdin;
  size_t rlen;
  unsigned char rbuf[5 + ATT_FRAME_MAX];
  char *out;
  size_t out_len, out_cap;
};

struct attach {
  int listen_fd; /* -1: no socket (a container without stdin and tty) */
  int in_fd;     /* the container's stdin: the pipe's write end or a dup of the terminal's master; -1 once closed */
  int tty_fd;    /* the terminal's master, for sizes; -1 without one */
  int stdin_once, once_used;
  struct att_client *owner; /* stdinOnce: the client whose stdin counts, while attached */
  int closing;              /* close in_fd once pending is written */
  int hangup;               /* set when a terminal's stdin was closed: the shim closes the master too */
  char *pending;
  size_t pending_len, pending_cap;
  struct att_client *c[ATT_MAX_CLIENTS];
  int n;
  char path[PATH_MAX];
};

static void att_init(struct attach *a) {
  memset(a, 0, sizeof *a);
  a->listen_fd = a->in_fd = a->tty_fd = -1;
}

/* Listens on DIR/attach.sock; the path goes through /proc/self/fd so that no sun_path length limit applies. */
static int att_listen(struct attach *a, const char *dir, char *err, size_t n) {
  snprintf(a->path, sizeof a->path, "%s/attach.sock", dir);
  unlink(a->path);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/attach.sock", dfd);
  const char *step = dfd < 0 ? "open state dir" : fd < 0 ? "socket" : NULL;
  if (!step && bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) step = "bind";
  if (!step && listen(fd, ATT_MAX_CLIENTS) < 0) step = "listen";
  int saved = errno;
  if (dfd >= 0) close(dfd);
  if (step) {
    snprintf(err, n, "attach socket %s: %s: %s", a->path, step, strerror(saved));
    if (fd >= 0) close(fd);
    return -1;
  }
  a->listen_fd = fd;
  return 0;
}

static void att_stdin_end(struct attach *a);

static void att_drop(struct attach *a, struct att_client *c) {
  for (int i = 0; i < a->n; i++) {
    if (a->c[i] != c) continue;
    a->c[i] = a->c[--a->n];
    break;
  }
  if (c == a->owner) {
    a->owner = NULL;
    att_stdin_end(a);
  }
  close(c->fd);
  free(c->out);
  free(c);
}

/* Closes the container's stdin once what is pending is written. */
static void att_try_close(struct attach *a) {
  if (!a->closing || a->pending_len > 0 || a->in_fd < 0) return;
  close(a->in_fd);
  a->in_fd = -1;
  if (a->tty_fd >= 0) a->hangup = 1;
}

static void att_stdin_end(struct attach *a) {
  if (!a->stdin_once) return;
  a->closing = 1;
  att_try_close(a);
}

static void att_queue_stdin(struct attach *a, const unsigned char *p, size_t n) {
  if (a->in_fd < 0 || a->closing || n == 0) return;
  if (a->pending_len + n > a->pending_cap) {
    a->pending_cap = a->pending_len + n + ATT_FRAME_MAX;
    a->pending = realloc(a->pending, a->pending_cap);
  }
  memcpy(a->pending + a->pending_len, p, n);
  a->pending_len += n;
}

static void att_resize(struct attach *a, const unsigned char *p, size_t n) {
  char line[64];
  unsigned cols, rows;
  if (a->tty_fd < 0 || n >= sizeof line) return;
  memcpy(line, p, n);
  line[n] = 0;
  if (sscanf(line, "%u %u", &cols, &rows) != 2 || cols > 0xffff || rows > 0xffff) return;
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  ioctl(a->tty_fd, TIOCSWINSZ, &ws);
}

/* One frame from a client; returns -1 when the client is to be dropped. */
static int att_frame(struct attach *a, struct att_client *c, unsigned char type, const unsigned char *p, size_t n) {
  if (!c->hello) {
    if (type != 'a') return -1;
    c->hello = 1;
    c->with_stdin = n > 0 && p[0] == '1' && a->in_fd >= 0 && !a->closing;
    if (c->with_stdin && a->stdin_once) {
      if (a->once_used) c->with_stdin = 0;
      else {
        a->once_used = 1;
        a->owner = c;
      }
    }
    return 0;
  }
  switch (type) {
    case 'i':
      if (c->with_stdin) att_queue_stdin(a, p, n);
      return 0;
    case 'c':
      c->with_stdin = 0;
      if (c == a->owner) {
        a->owner = NULL;
        att_stdin_end(a);
      }
      return 0;
    case 'r': att_resize(a, p, n); return 0;
    default: return -1;
  }
}

/* Reads what a client sent and acts on each whole frame; -1: drop it. */
static int att_read(struct attach *a, struct att_client *c) {
  ssize_t r = read(c->fd, c->rbuf + c->rlen, sizeof c->rbuf - c->rlen);
  if (r < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
  if (r <= 0) return -1;
  c->rlen += (size_t)r;
  size_t off = 0;
  while (c->rlen - off >= 5) {
    const unsigned char *h = c->rbuf + off;
    size_t len = ((size_t)h[1] << 24) | ((size_t)h[2] << 16) | ((size_t)h[3] << 8) | (size_t)h[4];
    if (len > ATT_FRAME_MAX) return -1;
    if (c->rlen - off < 5 + len) break;
    if (att_frame(a, c, h[0], h + 5, len) < 0) return -1;
    off += 5 + len;
  }
  memmove(c->rbuf, c->rbuf + off, c->rlen - off);
  c->rlen -= off;
  return 0;
}

static int att_write(struct att_client *c) {
  ssize_t w = write(c->fd, c->out, c->out_len);
  if (w < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
  memmove(c->out, c->out + w, c->out_len - (size_t)w);
  c->out_len -= (size_t)w;
  return 0;
}

/* Writes pending stdin into the container; a reader gone (EPIPE) closes stdin for good. */
static void att_flush_stdin(struct attach *a) {
  if (a->in_fd < 0 || a->pending_len == 0) return;
  ssize_t w = write(a->in_fd, a->pending, a->pending_len);
  if (w < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (w < 0) {
    a->pending_len = 0;
    a->closing = 1;
  } else {
    memmove(a->pending, a->pending + w, a->pending_len - (size_t)w);
    a->pending_len -= (size_t)w;
  }
  att_try_close(a);
}

/* Fills pf with the socket, the stdin fd and the clients; returns how many. */
static int att_pollfds(struct attach *a, struct pollfd *pf) {
  int k = 0;
  if (a->listen_fd < 0) return 0;
  pf[k++] = (struct pollfd){a->listen_fd, POLLIN, 0};
  pf[k++] = (struct pollfd){a->pending_len > 0 ? a->in_fd : -1, POLLOUT, 0};
  for (int i = 0; i < a->n; i++) {
    short ev = (short)((a->pending_len < ATT_PENDING_HIGH ? POLLIN : 0) | (a->c[i]->out_len > 0 ? POLLOUT : 0));
    pf[k++] = (struct pollfd){a->c[i]->fd, ev, 0};
  }
  return k;
}

/* Acts on what poll reported for the fds att_pollfds gave (k of them). */
static void att_handle(struct attach *a, struct pollfd *pf, int k) {
  if (k == 0) return;
  if (pf[1].revents) att_flush_stdin(a);
  for (int j = 2; j < k; j++) {
    if (!pf[j].revents) continue;
    struct att_client *c = NULL;
    for (int i = 0; i < a->n && !c; i++)
      if (a->c[i]->fd == pf[j].fd) c = a->c[i];
    if (!c) continue;
    int bad = (pf[j].revents & POLLOUT) && att_write(c) < 0;
    if (!bad && (pf[j].revents & (POLLIN | POLLHUP | POLLERR))) bad = att_read(a, c) < 0;
    if (bad) att_drop(a, c);
  }
  if (a->pending_len > 0) att_flush_stdin(a);
  if (pf[0].revents & POLLIN) {
    int fd;
    while ((fd = accept4(a->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
      if (a->n == ATT_MAX_CLIENTS) {
        close(fd);
        continue;
      }
      struct att_client *c = calloc(1, sizeof *c);
      c->fd = fd;
      a->c[a->n++] = c;
    }
  }
}

/* Sends the container's output to every attached client; type 'o' or 'e'. */
static void att_broadcast(struct attach *a, char type, const char *p, size_t n) {
  for (int i = a->n - 1; i >= 0; i--) {
    struct att_client *c = a->c[i];
    if (!c->hello) continue;
    if (c->out_len + n + 5 > ATT_OUT_MAX) {
      att_drop(a, c);
      continue;
    }
    if (c->out_len + n + 5 > c->out_cap) {
      c->out_cap = c->out_len + n + 5 + 16384;
      c->out = realloc(c->out, c->out_cap);
    }
    unsigned char h[5] = {(unsigned char)type, (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                          (unsigned char)n};
    memcpy(c->out + c->out_len, h, 5);
    memcpy(c->out + c->out_len + 5, p, n);
    c->out_len += n + 5;
  }
}

/* The container is gone (its exit recorded): hands each client the rest of its output (5 s at most) and closes. */
static void att_finish(struct attach *a) {
  if (a->listen_fd < 0) return;
  close(a->listen_fd);
  unlink(a->path);
  struct timeval tv = {5, 0};
  for (int i = 0; i < a->n; i++) {
    struct att_client *c = a->c[i];
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    write_all(c->fd, c->out, c->out_len);
    close(c->fd);
  }
}

#endif
