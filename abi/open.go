package abi

import "golang.org/x/sys/unix"

// O_TMPFILE_BIT is Linux's __O_TMPFILE: the bit of O_TMPFILE besides the
// O_DIRECTORY it carries, which alone says that open(2) makes a file
// (WILL_CREATE). x/sys/unix defines only the pair.
const O_TMPFILE_BIT = unix.O_TMPFILE &^ unix.O_DIRECTORY
