#!/bin/sh
# install-deps.sh - install what building, running and testing
# schematic-streamd needs on Debian 12 (run as root). Used by demo.sh,
# run-tests.sh and CI; safe to run again.
set -eu
pkgs="build-essential autoconf automake libtool autoconf-archive pkg-config
 libwebsockets-dev libjansson-dev libsystemd-dev libssl-dev check
 python3 python3-websockets socat openssl systemd iproute2 util-linux
 valgrind gnuplot-nox procps"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
