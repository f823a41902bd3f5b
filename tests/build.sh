#!/bin/sh
# build.sh - configure (once) and build schematic-streamd in the source tree.
# Extra arguments go to ./configure.
set -eu
cd "$(dirname "$0")/.."
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
	autoreconf -fi >/dev/null
fi
if [ ! -f Makefile ] || [ $# -gt 0 ]; then
	./configure -q --enable-werror "$@"
fi
make -j"$(nproc)" >/dev/null
