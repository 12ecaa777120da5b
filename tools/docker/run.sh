#!/usr/bin/env bash
# Docker on runsc-lite, end to end, run by hand (it needs root and Debian's
# docker.io): a dockerd of its own (its own data root, exec root and socket,
# no bridge network) with runsc-lite registered as the runtime "runsc-lite",
# an image imported from a local root file system (a static busybox), then
# docker run, exec, logs and stop on it. Prints every command and its output;
# exits non-zero at the first that fails. The README shows its output.
#
#   sudo tools/docker/run.sh [PATH-TO-runsc-lite]
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v dockerd >/dev/null || { echo "dockerd is not installed (apt-get install -y docker.io)" >&2; exit 1; }
work=$(mktemp -d /var/tmp/rl-docker.XXXXXX)
chmod 755 "$work"
bin=${1:-}
if [ -z "$bin" ]; then
	bin=$work/runsc-lite
	go build -o "$bin" ./runsc-lite
fi
bin=$(realpath "$bin")
sock=$work/docker.sock
cat >"$work/daemon.json" <<JSON
{"runtimes": {"runsc-lite": {"path": "$bin"}}, "bridge": "none", "iptables": false, "ip6tables": false}
JSON
dockerd --config-file "$work/daemon.json" --data-root "$work/data" --exec-root "$work/exec" \
	--pidfile "$work/docker.pid" -H "unix://$sock" >"$work/dockerd.log" 2>&1 &
dpid=$!
cleanup() {
	docker -H "unix://$sock" rm -f rl-long >/dev/null 2>&1 || true
	kill "$dpid" 2>/dev/null || true
	wait "$dpid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do docker -H "unix://$sock" version >/dev/null 2>&1 && break; sleep 0.2; done
d() { echo "\$ docker $*"; docker -H "unix://$sock" "$@"; }

# An image from a local root file system: a static busybox.
root=$work/rootfs
mkdir -p "$root/bin" "$root/etc"
cp /bin/busybox "$root/bin/busybox"
for c in sh echo sleep cat hostname ps; do ln -s busybox "$root/bin/$c"; done
tar -C "$root" -c . | docker -H "unix://$sock" import - runsc-lite-busybox >/dev/null

d run --rm --runtime=runsc-lite --network=none runsc-lite-busybox echo hi
d run -d --name rl-long --runtime=runsc-lite --network=none runsc-lite-busybox sh -c 'echo started; exec sleep 1000' >/dev/null
d exec rl-long sh -c 'echo in the container; cat /proc/1/cmdline | tr "\0" " "; echo'
d logs rl-long
d stop -t 2 rl-long >/dev/null
d ps -a --filter name=rl-long --format '{{.Names}} {{.Status}}'
d rm rl-long >/dev/null
echo "ok"
