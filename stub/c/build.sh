#!/bin/sh
# Builds the stub program: stub.bin (a static ELF, no libc, linked at
# STUB_IMAGE_BASE) and stub.stamp (what it was built from). Run it with
# `go generate ./stub` after changing any C, assembly or header file here or
# in sysmsg/c; stub_test.go fails when the committed files are stale.
# Usage: build.sh [OUTDIR]   (default: stub/, where stub.go embeds it)
set -eu
cd "$(dirname "$0")"
out=${1:-..}
sources="stub_amd64.S forkserver.c syscall_thread.c socket.c freestanding.c ../../sysmsg/c/handler.c"
headers="visibility.h stub.h socket.h ../../sysmsg/c/sysmsg.h stub.ld build.sh"
${CC:-gcc} -O2 -Wall -Werror -std=gnu11 \
	-nostdlib -ffreestanding -fno-builtin -fno-tree-loop-distribute-patterns -static -no-pie -fpie \
	-fno-stack-protector -include visibility.h -fno-asynchronous-unwind-tables -fno-unwind-tables \
	-fcf-protection=none -mgeneral-regs-only -mfsgsbase \
	-Wl,-T,stub.ld -Wl,--build-id=none -Wl,-z,noexecstack -Wl,-z,norelro \
	-o "$out/stub.bin" $sources
{
	echo "sources $(cat $sources $headers | sha256sum | cut -d' ' -f1)"
	echo "compiler $(${CC:-gcc} --version | head -n1)"
} >"$out/stub.stamp"
