/* The sock_diag structures of abi/sockdiag.go, from the uapi headers. */
#include <linux/inet_diag.h>
#include <linux/unix_diag.h>
