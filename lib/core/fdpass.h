/* fdpass.h — sending and receiving file descriptors with a message on a unix socket
 * (SCM_RIGHTS): how sandboxes, proxy sockets and pooled sandboxes move between processes. */
#ifndef ISOL8_FDPASS_H
#define ISOL8_FDPASS_H

#include <sys/types.h>

#define FDPASS_MAX 12

/* One sendmsg of buf with nfds (<= FDPASS_MAX) descriptors attached. */
ssize_t fd_send(int sock, const void *buf, size_t len, const int *fds, int nfds);
/* One recvmsg into buf; received descriptors (close-on-exec) go to fds, at most max of them
 * (extras are closed), their count to *nfds. */
ssize_t fd_recv(int sock, void *buf, size_t len, int *fds, int max, int *nfds);

#endif
