/* struct ustat for abi's layout test, as include/linux/types.h declares
 * it: no uapi header has it, and glibc dropped <ustat.h>. */
struct ustat {
	int f_tfree;
	unsigned long f_tinode;
	char f_fname[6];
	char f_fpack[6];
};
