#include "socket.h"

#include <asm-generic/errno.h>

union cmsg_buf {
	struct stub_cmsghdr h;
	char buf[sizeof(struct stub_cmsghdr) + 4 * sizeof(int)];
};

long stub_recv_fds(int sock, void *buf, size_t len, int *fds, int nfds)
{
	union cmsg_buf c;
	struct stub_iovec iov = {buf, len};
	struct stub_msghdr msg = {0};
	int got = 0;

	memset(&c, 0, sizeof(c));
	msg.iov = &iov;
	msg.iovlen = 1;
	msg.control = &c;
	msg.controllen = sizeof(c);
	long n = sys3(__NR_recvmsg, sock, &msg, STUB_MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	if (msg.controllen >= sizeof(struct stub_cmsghdr) &&
	    c.h.level == STUB_SOL_SOCKET && c.h.type == STUB_SCM_RIGHTS)
		got = (int)((c.h.len - sizeof(struct stub_cmsghdr)) / sizeof(int));
	int *in = (int *)(c.buf + sizeof(struct stub_cmsghdr));
	if (got != nfds || (msg.flags & (STUB_MSG_TRUNC | STUB_MSG_CTRUNC))) {
		for (int i = 0; i < got && i < 4; i++)
			sys1(__NR_close, in[i]);
		return n == 0 && got == 0 ? 0 : -EBADMSG;
	}
	for (int i = 0; i < nfds; i++)
		fds[i] = in[i];
	return n;
}

long stub_send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds)
{
	union cmsg_buf c;
	struct stub_iovec iov = {(void *)buf, len};
	struct stub_msghdr msg = {0};

	memset(&c, 0, sizeof(c));
	msg.iov = &iov;
	msg.iovlen = 1;
	if (nfds > 0) {
		c.h.len = sizeof(struct stub_cmsghdr) + nfds * sizeof(int);
		c.h.level = STUB_SOL_SOCKET;
		c.h.type = STUB_SCM_RIGHTS;
		memcpy(c.buf + sizeof(struct stub_cmsghdr), fds, nfds * sizeof(int));
		msg.control = &c;
		msg.controllen = c.h.len;
	}
	return sys3(__NR_sendmsg, sock, &msg, 0);
}
