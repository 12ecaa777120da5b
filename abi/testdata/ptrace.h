/* struct ptrace_peeksiginfo_args for abi's layout test. */
#include <linux/ptrace.h>
