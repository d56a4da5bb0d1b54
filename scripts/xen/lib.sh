# shellcheck shell=bash disable=SC2034  # sourced by the scripts beside it
# lib.sh: shared settings for scripts/xen/* (sourced, not run).
#
# Everything the Xen test host keeps lives in the cache dir, outside the
# repository:
#   $XEN_CACHE/image/   built image (xen, vmlinuz, rootfs.cpio.gz, guest files, key)
#   $XEN_CACHE/run/     the running QEMU: pidfile, serial log and socket, monitor
XEN_CACHE="${VMPLAN_XEN_CACHE:-/var/cache/vmplan-xen}"
XEN_PORT="${VMPLAN_XEN_PORT:-16509}"
XEN_URI="xen+tcp://127.0.0.1:${XEN_PORT}/system"
XEN_IMAGE="$XEN_CACHE/image"
XEN_RUN="$XEN_CACHE/run"
XEN_PIDFILE="$XEN_RUN/qemu.pid"
XEN_SERIAL_LOG="$XEN_RUN/serial.log"
XEN_SERIAL_SOCK="$XEN_RUN/serial.sock"
XEN_MONITOR_SOCK="$XEN_RUN/monitor.sock"
XEN_READY_MARK="VMPLAN-XEN-READY"
XEN_FAILED_MARK="VMPLAN-XEN-FAILED"

xlog() { printf '%s: %s\n' "${0##*/}" "$*"; }
xdie() { printf '%s: ERROR: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# The pid of our QEMU if it is running, else nothing (and a stale pidfile is
# left for the caller to remove).
xen_qemu_pid() {
  local pid
  [[ -s $XEN_PIDFILE ]] || return 1
  pid=$(<"$XEN_PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Make sure the pid is still that QEMU, not a recycled one.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-name vmplan-xen" || return 1
  echo "$pid"
}

# True when libvirtd in dom0 answers through the port forward.
xen_answers() {
  timeout 15 virsh -c "$XEN_URI" version >/dev/null 2>&1
}
