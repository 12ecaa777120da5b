#!/usr/bin/env bash
# Docker's bridge network and -p on runsc-lite, run by hand (root, Debian's
# docker.io): a dockerd of its own (data root, exec root, socket) started in
# a network namespace of its own, so that its bridge, iptables rules and
# docker-proxy live there and the host's network is untouched. A busybox
# httpd container published with -p 8080:80 is fetched from 127.0.0.1:8080
# in that namespace, and a second container reaches it through the bridge.
#
#   sudo tools/docker/network.sh [PATH-TO-runsc-lite]
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v dockerd >/dev/null || { echo "dockerd is not installed (apt-get install -y docker.io)" >&2; exit 1; }
work=$(mktemp -d /var/tmp/rl-dknet.XXXXXX)
chmod 755 "$work"
bin=${1:-}
if [ -z "$bin" ]; then
	bin=$work/runsc-lite
	CGO_ENABLED=0 go build -o "$bin" ./runsc-lite
fi
bin=$(realpath "$bin")
sock=$work/docker.sock
ns=rl-dk-$$
ip netns add $ns
ip -n $ns link set lo up
cat >"$work/daemon.json" <<JSON
{"runtimes": {"runsc-lite": {"path": "$bin"}}}
JSON
nsenter --net=/var/run/netns/$ns dockerd --config-file "$work/daemon.json" --data-root "$work/data" --exec-root "$work/exec" \
	--pidfile "$work/docker.pid" -H "unix://$sock" >"$work/dockerd.log" 2>&1 &
dpid=$!
cleanup() {
	docker -H "unix://$sock" rm -f rl-web >/dev/null 2>&1 || true
	kill "$dpid" 2>/dev/null || true
	wait "$dpid" 2>/dev/null || true
	ip netns del $ns
	rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do docker -H "unix://$sock" version >/dev/null 2>&1 && break; sleep 0.2; done
d() { echo "\$ docker $*"; docker -H "unix://$sock" "$@"; }
root=$work/rootfs
mkdir -p "$root/bin" "$root/etc" "$root/www"
cp /bin/busybox "$root/bin/busybox"
for c in sh echo sleep cat ip httpd wget; do ln -s busybox "$root/bin/$c"; done
echo "hello from runsc-lite" >"$root/www/index.html"
tar -C "$root" -c . | docker -H "unix://$sock" import - runsc-lite-busybox >/dev/null
d run -d --name rl-web --runtime=runsc-lite -p 8080:80 runsc-lite-busybox httpd -f -p 80 -h /www
d exec rl-web ip -o addr
echo "\$ curl -s http://127.0.0.1:8080/   # in dockerd's namespace"
for i in $(seq 50); do nsenter --net=/var/run/netns/$ns curl -s --max-time 2 http://127.0.0.1:8080/ && break; sleep 0.2; done
d run --rm --runtime=runsc-lite runsc-lite-busybox sh -c 'ip route; wget -qO- http://172.17.0.1:8080/ 2>&1 || true'
echo ok
