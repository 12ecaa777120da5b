/* The loop driver's structures for abi's layout test. */
#include <linux/loop.h>
