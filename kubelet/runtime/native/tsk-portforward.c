/*
 * tsk-portforward: one TCP connection to a port on a pod's loopback, for
 * pods/portforward (CRI PortForward).
 *
 *   tsk-portforward NETNS_PATH PORT
 *
 * Joins the network namespace NETNS_PATH (the sandbox's bind-mounted one;
 * only the network namespace: the pod's filesystem is not needed), connects
 * to 127.0.0.1:PORT, or [::1]:PORT when that is refused (as containerd), and
 * relays: stdin to the connection, the connection to stdout. End of stdin
 * half-closes the connection (shutdown SHUT_WR); the pod closing its side
 * closes stdout. Exits 0 once both directions are done.
 * Exit 1 when the connection cannot be made, 2 when it fails later; the
 * reason is one line on stderr, as the kubelet reports it.
 * Node cannot do this itself: setns is per thread and Node is multi-threaded.
 */
#include "tsk-common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>

static int connect_to(int family, int port, int *err) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  int rc;
  if (family == AF_INET) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    rc = connect(fd, (struct sockaddr *)&a, sizeof a);
  } else {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    rc = connect(fd, (struct sockaddr *)&a, sizeof a);
  }
  if (rc < 0) {
    *err = errno;
    close(fd);
    return -1;
  }
  return fd;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: tsk-portforward NETNS_PATH PORT\n");
    return 1;
  }
  char *end;
  long port = strtol(argv[2], &end, 10);
  if (*end != '\0' || port < 1 || port > 65535) {
    fprintf(stderr, "invalid port %s: must be 1-65535\n", argv[2]);
    return 1;
  }
  /* A write to a closed stdout or connection is an error return, not a death. */
  signal(SIGPIPE, SIG_IGN);
  int ns = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
    fprintf(stderr, "failed to enter the pod's network namespace %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  close(ns);
  int err4 = 0, err6 = 0;
  int sock = connect_to(AF_INET, (int)port, &err4);
  if (sock < 0) sock = connect_to(AF_INET6, (int)port, &err6);
  if (sock < 0) {
    fprintf(stderr, "failed to connect to localhost:%ld inside the pod's network namespace, IPv4: %s, IPv6: %s\n", port, strerror(err4),
            strerror(err6));
    return 1;
  }
  /* in_open: stdin still read; out_open: the connection still read. */
  int in_open = 1, out_open = 1;
  char buf[32 * 1024];
  while (in_open || out_open) {
    struct pollfd p[2] = {{.fd = in_open ? 0 : -1, .events = POLLIN}, {.fd = out_open ? sock : -1, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "poll: %s\n", strerror(errno));
      return 2;
    }
    if (in_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = read(0, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        in_open = 0;
        shutdown(sock, SHUT_WR);
      } else if (write_all(sock, buf, (size_t)n) < 0) {
        /* The pod closed its reading side: nothing more can be sent. */
        in_open = 0;
      }
    }
    if (out_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = read(sock, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        fprintf(stderr, "reading from localhost:%ld in the pod: %s\n", port, strerror(errno));
        return 2;
      }
      if (n == 0) {
        out_open = 0;
        close(1);
        /* The pod is done: what the client still sends has nowhere to go. */
        in_open = 0;
      } else if (write_all(1, buf, (size_t)n) < 0) {
        return 0; /* The kubelet stopped reading: the session is over. */
      }
    }
  }
  return 0;
}
