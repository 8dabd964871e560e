#!/bin/sh
# Installs Debian's Prometheus (prometheus + promtool) for the deploy tests,
# the way CI does it. Idempotent: does nothing when both are already on PATH.
#
# The package's maintainer scripts would start a system service; the tests
# start their own Prometheus on 127.0.0.1, so service starts are refused with
# a policy-rc.d while apt runs (the one Docker images ship is kept as is).
set -eu

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    echo "prometheus and promtool already installed: $(command -v prometheus), $(command -v promtool)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi

POLICY=/usr/sbin/policy-rc.d
ADDED_POLICY=
if [ ! -e "$POLICY" ]; then
    # 101: "action forbidden by policy" for every invoke-rc.d call.
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod 755 "$POLICY"
    ADDED_POLICY=1
fi
cleanup() {
    if [ -n "$ADDED_POLICY" ]; then
        $SUDO rm -f "$POLICY"
    fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
# Refresh the lists only when apt knows no candidate (a fresh machine).
if ! apt-cache policy prometheus 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    $SUDO apt-get update -q
fi
$SUDO apt-get install -y -q --no-install-recommends prometheus

# systemd is not PID 1 in containers, but on a host it may be: keep the
# package's service from running beside the tests' own instance.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
fi

prometheus --version 2>&1 | head -n 1
promtool --version 2>&1 | head -n 1
