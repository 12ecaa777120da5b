/* Just enough of sendmsg/recvmsg with SCM_RIGHTS, without libc. */
#ifndef STUB_SOCKET_H
#define STUB_SOCKET_H

#include "stub.h"

struct stub_iovec {
	void *base;
	size_t len;
};

struct stub_msghdr {
	void *name;
	int namelen;
	struct stub_iovec *iov;
	size_t iovlen;
	void *control;
	size_t controllen;
	int flags;
};

struct stub_cmsghdr {
	size_t len;
	int level;
	int type;
};

#define STUB_SOL_SOCKET  1
#define STUB_SCM_RIGHTS  1
#define STUB_MSG_CMSG_CLOEXEC 0x40000000
#define STUB_MSG_DONTWAIT 0x40
#define STUB_MSG_TRUNC   0x20
#define STUB_MSG_CTRUNC  0x8

/* Receives up to len bytes and up to maxfds (<= 4) descriptors, whose
 * number it stores in *nfds. Returns the byte count, 0 at end of stream, or
 * -errno; -EBADMSG when the message was truncated or carried more
 * descriptors (which are closed). */
long stub_recv_msg(int sock, void *buf, size_t len, int *fds, int maxfds, long *nfds);

/* Receives up to len bytes and exactly nfds descriptors (nfds <= 4).
 * Returns the byte count, 0 at end of stream, or -errno; -EBADMSG when the
 * message was truncated or carried a different number of descriptors (any
 * that came are closed). */
long stub_recv_fds(int sock, void *buf, size_t len, int *fds, int nfds);

/* Sends len bytes and nfds descriptors. Returns bytes sent or -errno. */
long stub_send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds);

#endif
