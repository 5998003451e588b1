#!/usr/bin/env bash
# Installs and configures Podman (with its Docker-compatible API), runc and a local registry the way
# ../shared/CONTAINERS.md explains: the VM lacks CAP_SYS_RESOURCE (so Podman's default rlimits fail) and
# crun fails on the hybrid cgroup layout (so runc). Idempotent; run as root. Starts:
#   - the Podman API on unix:///run/podman/podman.sock (DOCKER_HOST for bollard and the docker CLI)
#   - Debian's docker-registry on 127.0.0.1:5000 (storage under /var/lib/weir-registry)
# Prints the DOCKER_HOST to use. `scripts/setup-containers.sh stop` stops both.
set -euo pipefail

sock=/run/podman/podman.sock
registry_dir=/var/lib/weir-registry
registry_conf=/etc/weir/registry.yml

stop() {
  pkill -f "podman system service --time=0 unix://$sock" 2>/dev/null || true
  pkill -f "docker-registry serve $registry_conf" 2>/dev/null || true
}
if [ "${1:-}" = stop ]; then stop; exit 0; fi

need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v docker-registry >/dev/null || need+=(docker-registry)
[ -x /bin/busybox ] || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi

mkdir -p /etc/containers/registries.conf.d /etc/weir "$registry_dir"
want_conf='[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"'
restart_api=0
if [ "$(cat /etc/containers/containers.conf 2>/dev/null)" != "$want_conf" ]; then
  printf '%s\n' "$want_conf" > /etc/containers/containers.conf
  restart_api=1
fi
want_reg='[[registry]]
location = "127.0.0.1:5000"
insecure = true'
if [ "$(cat /etc/containers/registries.conf.d/50-local-insecure.conf 2>/dev/null)" != "$want_reg" ]; then
  printf '%s\n' "$want_reg" > /etc/containers/registries.conf.d/50-local-insecure.conf
  restart_api=1  # a running service does not reload registry configuration
fi
cat > "$registry_conf" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: $registry_dir
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
YML

if [ "$restart_api" = 1 ]; then
  pkill -f "podman system service --time=0 unix://$sock" 2>/dev/null || true
fi
if ! curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; then
  mkdir -p "$(dirname "$sock")"
  rm -f "$sock"
  nohup podman system service --time=0 "unix://$sock" >/var/log/weir-podman.log 2>&1 &
fi
if ! curl -sf http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
  nohup docker-registry serve "$registry_conf" >/var/log/weir-registry.log 2>&1 &
fi
for _ in $(seq 1 100); do
  if curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 && curl -sf http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
    echo "DOCKER_HOST=unix://$sock"
    exit 0
  fi
  sleep 0.1
done
echo "setup-containers: the Podman API or the registry did not come up; see /var/log/weir-podman.log and /var/log/weir-registry.log" >&2
exit 1
