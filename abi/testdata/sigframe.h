/* The signal frame for abi's layout test. struct sigcontext, struct
 * _fpx_sw_bytes, stack_t and siginfo_t come from the system headers; the
 * kernel's ucontext (asm-generic/ucontext.h, whose uapi header needs the
 * kernel's own stack_t and sigset_t) and rt_sigframe
 * (arch/x86/include/asm/sigframe.h, not exported) are written out here as
 * the kernel declares them. */
#include <signal.h>
#include <sys/ucontext.h>

#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4

struct kernel_ucontext {
	unsigned long uc_flags;
	struct kernel_ucontext *uc_link;
	stack_t uc_stack;
	struct sigcontext uc_mcontext;
	unsigned long uc_sigmask;
};

struct rt_sigframe {
	char *pretcode;
	struct kernel_ucontext uc;
	siginfo_t info;
};

#include <linux/aio_abi.h>
#include <linux/fcntl.h>
#include <linux/futex.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/uio.h>
#include <elf.h>
#include <sys/sysinfo.h>
#include <unistd.h>

/* getdents' and getdents64's records (fs/readdir.c; getdents(2)) and
 * pselect6's sixth argument (fs/select.c): not exported, written out as the
 * kernel declares them. */
struct linux_dirent {
	unsigned long d_ino;
	unsigned long d_off;
	unsigned short d_reclen;
	char d_name[1];
};

struct linux_dirent64 {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[0];
};

struct sigset_argpack {
	sigset_t *p;
	size_t size;
};
