/* Inode attribute flags and struct fsxattr for abi's layout test. */
#include <linux/fs.h>
