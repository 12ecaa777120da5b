/* struct termio for abi's layout test: the uapi declaration. */
#include <asm/termios.h>
