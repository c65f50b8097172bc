#!/usr/bin/env bash
# Kernel tests of module_utils in a throwaway host: new network and mount namespaces,
# with their own /run/netns, /sys, /opt, /var/lib and /etc/netns (the task supervisor installs itself
# under /opt/swarmnet, the modules keep state under /var/lib/swarmnet, the resolver writes each
# sandbox's /etc/netns/SANDBOX/resolv.conf), so nothing made here reaches the machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p /run/netns
# shellcheck disable=SC2016  # $0 and $1 are expanded by the inner sh, on purpose
exec unshare --net --mount --propagation private -- sh -c '
  mount -t tmpfs swarmnet-test /run/netns &&
  mount -t sysfs sysfs /sys &&
  mount -t tmpfs swarmnet-test-opt /opt &&
  mount -t tmpfs swarmnet-test-var /var/lib &&
  mkdir -p /etc/netns && mount -t tmpfs swarmnet-test-etc-netns /etc/netns &&
  SWARMNET_ISOLATED=1 exec "$0" -q "$1"' "$root/.venv/bin/pytest" "$root/tests/integration"
