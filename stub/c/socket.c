#include "socket.h"

#include <asm-generic/errno.h>

union cmsg_buf {
	struct stub_cmsghdr h;
	char buf[sizeof(struct stub_cmsghdr) + 4 * sizeof(int)];
};

long stub_recv_msg(int sock, void *buf, size_t len, int *fds, int maxfds, long *nfds)
{
	union cmsg_buf c;
	struct stub_iovec iov = {buf, len};
	struct stub_msghdr msg = {0};
	long got = 0;

	*nfds = 0;
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
		got = (long)((c.h.len - sizeof(struct stub_cmsghdr)) / sizeof(int));
	int *in = (int *)(c.buf + sizeof(struct stub_cmsghdr));
	if (got > 4)
		got = 4;
	if (got > maxfds || (msg.flags & (STUB_MSG_TRUNC | STUB_MSG_CTRUNC))) {
		for (long i = 0; i < got; i++)
			sys1(__NR_close, in[i]);
		return -EBADMSG;
	}
	for (long i = 0; i < got; i++)
		fds[i] = in[i];
	*nfds = got;
	return n;
}

long stub_recv_fds(int sock, void *buf, size_t len, int *fds, int nfds)
{
	long got;
	long n = stub_recv_msg(sock, buf, len, fds, nfds, &got);
	if (n < 0 || got == nfds)
		return n;
	for (long i = 0; i < got; i++)
		sys1(__NR_close, fds[i]);
	return n == 0 && got == 0 ? 0 : -EBADMSG;
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
