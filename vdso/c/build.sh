#!/bin/sh
# Builds the sandbox's vDSO: vdso.so (a shared object with no relocations,
# linked at 0; the sentry maps it with its parameters page before it) and
# vdso.stamp (what it was built from). Run it with `go generate ./vdso`
# after changing any file here; vdso_test.go fails when the committed
# files are stale.
# Usage: build.sh [OUTDIR]   (default: vdso/, where vdso.go embeds it)
set -eu
cd "$(dirname "$0")"
out=${1:-..}
sources="vdso.c"
headers="params.h vdso.lds build.sh"
${CC:-gcc} -O2 -Wall -Werror -std=gnu11 -fPIC -shared -nostdlib \
	-ffreestanding -fno-builtin -fno-stack-protector -fno-asynchronous-unwind-tables \
	-fcf-protection=none -mgeneral-regs-only \
	-Wl,-T,vdso.lds -Wl,-soname=linux-vdso.so.1 -Wl,--hash-style=both \
	-Wl,--build-id=none -Wl,-Bsymbolic -Wl,-z,noexecstack -Wl,-z,max-page-size=4096 \
	-o "$out/vdso.so" $sources
{
	echo "sources $(cat $sources $headers | sha256sum | cut -d' ' -f1)"
	echo "compiler $(${CC:-gcc} --version | head -n1)"
} >"$out/vdso.stamp"
