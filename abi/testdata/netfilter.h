/* The netfilter structures of abi/netfilter.go, from the uapi headers. */
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_state.h>
