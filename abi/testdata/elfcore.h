/* struct elf_prstatus and struct elf_prpsinfo for abi's layout test:
 * glibc's <sys/procfs.h> declares them as linux/elfcore.h does. */
#include <sys/procfs.h>
