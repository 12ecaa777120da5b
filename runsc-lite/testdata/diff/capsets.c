/* Capability sets as root changes them (run as root): the bounding set
 * (PR_CAPBSET_READ/DROP), the ambient set (PR_CAP_AMBIENT), securebits
 * (PR_SET_SECUREBITS, PR_SET_KEEPCAPS), capset's limits, and what execve
 * leaves of each for root, for another user with and without ambient
 * capabilities, and under SECBIT_NOROOT; /proc/self/status's Cap lines. */
#include "common.h"
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define SECBIT_NOROOT (1 << 0)
#define SECBIT_NOROOT_LOCKED (1 << 1)
#define SECBIT_NO_SETUID_FIXUP (1 << 2)
#define SECBIT_KEEP_CAPS (1 << 4)
#define SECBIT_KEEP_CAPS_LOCKED (1 << 5)
#define SECBIT_NO_CAP_AMBIENT_RAISE (1 << 6)
#define BIT(c) (1ull << (c))

static const char *self;

/* base is the set the program starts from, natively and in the sandbox
 * alike, whatever else the host's root holds. */
static const unsigned long long base = 0xffff | BIT(CAP_SYS_ADMIN);

static unsigned long long bits(unsigned lo, unsigned hi) { return lo | (unsigned long long)hi << 32; }

static void show(const char *what) {
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {0};
	syscall(SYS_capget, &h, d);
	unsigned long long bnd = 0, amb = 0;
	for (int c = 0; c < 64; c++) {
		if (prctl(PR_CAPBSET_READ, c) == 1)
			bnd |= BIT(c);
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) == 1)
			amb |= BIT(c);
	}
	printf("%s: uid %d euid %d eff %llx prm %llx inh %llx bnd %llx amb %llx securebits %x keepcaps %d\n", what,
	       getuid(), geteuid(), bits(d[0].effective, d[1].effective), bits(d[0].permitted, d[1].permitted),
	       bits(d[0].inheritable, d[1].inheritable), bnd, amb, prctl(PR_GET_SECUREBITS), prctl(PR_GET_KEEPCAPS));
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "Cap", 3) == 0)
			printf("  %s", line);
	if (f)
		fclose(f);
	fflush(stdout);
}

static int set_caps(unsigned long long eff, unsigned long long prm, unsigned long long inh) {
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {
		{eff & 0xffffffff, prm & 0xffffffff, inh & 0xffffffff},
		{eff >> 32, prm >> 32, inh >> 32},
	};
	return syscall(SYS_capset, &h, d);
}

/* exec_show runs this program again, which shows its sets. */
static void exec_show(void) {
	fflush(stdout);
	execl(self, self, "show", (char *)NULL);
	printf("execl: %s\n", ename(errno));
	_exit(1);
}

static void errors(void) {
	T(prctl(PR_CAPBSET_READ, 64));
	T(prctl(PR_CAPBSET_READ, -1));
	T(prctl(PR_CAPBSET_DROP, 64));
	T(prctl(PR_CAP_AMBIENT, 9, 0, 0, 0));
	T(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 1, 0, 0));
	T(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 99, 0, 0));
	T(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 1, 0));
	T(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0)); /* not inheritable */
	T(prctl(PR_SET_SECUREBITS, 1 << 12));
	T(prctl(PR_SET_KEEPCAPS, 2));
	T(prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0));
}

static void bounding(void) {
	T(prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN));
	T(prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN));
	T(prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN));
	show("dropped from bounding");
	/* Not in the bounding set: the inheritable set cannot gain it. */
	T(set_caps(base, base, BIT(CAP_SYS_ADMIN)));
	T(set_caps(base & ~BIT(CAP_SYS_ADMIN), base & ~BIT(CAP_SYS_ADMIN), 0));
	show("capset without it");
	exec_show();
}

static void ambient(void) {
	unsigned long long two = BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_NET_RAW);
	T(set_caps(base, base, two));
	T(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0));
	T(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0));
	show("root with an ambient capability");
	T(prctl(PR_SET_KEEPCAPS, 1));
	T(setresuid(1000, 1000, 1000));
	show("uid 1000, keepcaps");
	T(set_caps(two, two, two));
	T(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0));
	T(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0));
	/* Lowering the permitted set lowers the ambient one. */
	T(set_caps(BIT(CAP_NET_BIND_SERVICE), BIT(CAP_NET_BIND_SERVICE), two));
	show("uid 1000, capset");
	exec_show();
}

static void nonroot(void) {
	T(prctl(PR_SET_KEEPCAPS, 1));
	T(setresuid(1000, 1000, 1000));
	T(set_caps(BIT(CAP_KILL), BIT(CAP_KILL), 0));
	show("uid 1000 without ambient");
	exec_show();
}

static void noroot(void) {
	T(prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED));
	T(prctl(PR_SET_SECUREBITS, SECBIT_NOROOT_LOCKED));
	T(prctl(PR_SET_SECUREBITS, SECBIT_NOROOT));
	exec_show();
}

static void keepcaps_locked(void) {
	T(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE));
	T(prctl(PR_GET_KEEPCAPS));
	T(prctl(PR_SET_KEEPCAPS, 0));
	T(set_caps(base, base, BIT(CAP_KILL)));
	T(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0));
	/* KEEP_CAPS is cleared by execve, even locked. */
	exec_show();
}

static void no_fixup(void) {
	T(prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP));
	T(setresuid(1000, 1000, 1000));
	show("uid 1000 with SECBIT_NO_SETUID_FIXUP");
	T(setresuid(0, 0, 0));
}

int main(int argc, char **argv) {
	self = argv[0];
	if (argc > 1 && strcmp(argv[1], "show") == 0) {
		show("after execve");
		return 0;
	}
	for (int c = 0; c < 64; c++)
		if (!(base & BIT(c)))
			prctl(PR_CAPBSET_DROP, c);
	set_caps(base, base, 0);
	show("root");
	in_child("== errors", errors);
	in_child("== bounding set", bounding);
	in_child("== ambient set", ambient);
	in_child("== another user", nonroot);
	in_child("== SECBIT_NOROOT", noroot);
	in_child("== SECBIT_KEEP_CAPS locked", keepcaps_locked);
	in_child("== SECBIT_NO_SETUID_FIXUP", no_fixup);
	return 0;
}
