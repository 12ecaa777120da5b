/* Included first in every stub C file (build.sh): every symbol is local to
 * the stub image, so the compiler addresses it RIP-relative, which works at
 * the image's address far above 4 GiB. */
#pragma GCC visibility push(hidden)
