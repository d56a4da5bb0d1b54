# lib.sh: what the benchmark scripts share. Sourced; the script sets BENCH (its name for
# messages), WORK (its scratch directory) and PREFIX (the name prefix of its VMs) first.
# shellcheck shell=bash

MARKER_NS="urn:vmplan:1"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")

log() { printf '%s: %s\n' "$BENCH" "$*" >&2; }
die() { printf '%s: ERROR: %s\n' "$BENCH" "$*" >&2; exit 1; }

# needs_tools: virsh, a C compiler and GNU time, or a clear error.
needs_tools() {
  command -v virsh >/dev/null || die "virsh missing: run scripts/host-up"
  command -v cc >/dev/null || die "no C compiler (cc) for the floor programs in benchmarks/"
  [[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) missing: run scripts/host-up"
}

# build_vmplan: sets VMPLAN to a release build (or to $VMPLAN_BIN as is).
build_vmplan() {
  if [[ -n ${VMPLAN_BIN:-} ]]; then
    VMPLAN=$VMPLAN_BIN
    log "using prebuilt $VMPLAN (VMPLAN_BIN), not building"
  else
    log "building vmplan (release) in $ROOT"
    if ! (cd "$ROOT" && swift build -c release --product vmplan) >"$WORK/build.log" 2>&1; then
      tail -n 40 "$WORK/build.log" >&2
      die "swift build failed (log above)"
    fi
    VMPLAN="$(cd "$ROOT" && swift build -c release --show-bin-path)/vmplan"
  fi
  [[ -x $VMPLAN ]] || die "no vmplan binary at $VMPLAN"
}

# compile NAME: benchmarks/NAME.c to $WORK/NAME.
compile() {
  # shellcheck disable=SC2046  # pkg-config prints several words on purpose
  cc -O2 -o "$WORK/$1" "$HERE/$1.c" $(pkg-config --cflags --libs libvirt)
}

# bench_domains URI: names of defined domains that start with $PREFIX and carry vmplan's
# metadata marker (`virsh metadata NAME urn:vmplan:1` succeeds); anything else called
# $PREFIX* is not ours and stays. 4 checks run in parallel: one virsh process costs ~20 ms.
# shellcheck disable=SC2016  # $1..$4 belong to the inner sh
bench_domains() {
  { virsh -q -c "$1" list --all --name | grep -- "^$PREFIX" || true; } \
    | xargs -r -d '\n' -P 4 -I{} sh -c '
        if virsh -q -c "$1" metadata "$2" "$3" >/dev/null 2>&1; then
          printf "%s\n" "$2"
        else
          printf "%s: leaving %s alone: no %s metadata\n" "$4" "$2" "$3" >&2
        fi' sh "$1" {} "$MARKER_NS" "$BENCH" \
    | sort
}

# remove_bench_domains URI: undefines the benchmark's own domains (see bench_domains) in one
# virsh session; running ones (there should be none) are stopped first.
remove_bench_domains() {
  local uri=$1 names count active left errors="$WORK/clean.err"
  names=$(bench_domains "$uri")
  [[ -n $names ]] || return 0
  count=$(printf '%s\n' "$names" | wc -l)
  log "removing $count benchmark VMs ($PREFIX*, with $MARKER_NS metadata) from $uri"
  active=$(virsh -q -c "$uri" list --name --state-running --state-paused)
  printf '%s\n' "$names" | while read -r name; do
    if grep -qxF -- "$name" <<<"$active"; then
      printf 'destroy %s\n' "$name"
    fi
    printf 'undefine %s\n' "$name"
  done | virsh -q -c "$uri" >/dev/null 2>"$errors" || true
  left=$(virsh -q -c "$uri" list --all --name | grep -cxF -f <(printf '%s\n' "$names") || true)
  if ((left > 0)); then
    cat "$errors" >&2
    log "WARNING: $left benchmark VMs are still defined on $uri"
    return 1
  fi
}

# refuse_clashes URI: no benchmark VMs left over, and no foreign domains with their names.
refuse_clashes() {
  local existing clash
  existing=$(bench_domains "$1" | wc -l)
  ((existing == 0)) || die "$existing benchmark VMs ($PREFIX*) already exist on $1 (KEEP=1 run?); remove them with: $0 clean"
  clash=$(virsh -q -c "$1" list --all --name | grep -c -- "^$PREFIX" || true)
  ((clash == 0)) || die "$clash domains named $PREFIX* exist on $1 and are not vmplan's"
}

# host_yaml NAME URI: a Host document.
host_yaml() {
  printf 'apiVersion: vmplan/v1\nkind: Host\nmetadata: {name: %s}\nspec: {uri: "%s", hypervisor: kvm}\n' "$1" "$2"
}

# vms_yaml HOST FIRST LAST: VirtualMachine documents $PREFIX<FIRST> … $PREFIX<LAST> on HOST
# (1 vCPU, 64 MiB, stopped), names zero-padded to 5 digits.
vms_yaml() {
  local i
  for ((i = $2; i <= $3; i++)); do
    if ((i > $2)); then echo '---'; fi
    printf 'apiVersion: vmplan/v1\nkind: VirtualMachine\nmetadata: {name: %s%05d}\nspec: {host: %s, vcpus: 1, memory: 64MiB, state: stopped}\n' \
      "$PREFIX" "$i" "$1"
  done
}

# timed OUTFILE CMD...: append "wall_seconds peak_rss_kib" of one run to OUTFILE; the
# command's exit status is returned. Every timed command runs under GNU time, so that all
# pay the same overhead. Its output is in $WORK/last.out and $WORK/last.err.
timed() {
  local out=$1 a b rc=0
  shift
  a=$EPOCHREALTIME
  /usr/bin/time -f %M -o "$WORK/rss" "$@" >"$WORK/last.out" 2>"$WORK/last.err" || rc=$?
  b=$EPOCHREALTIME
  printf '%s %s\n' "$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.4f", b - a}')" \
    "$(tail -n 1 "$WORK/rss" | tr -dc '0-9')" >>"$out"
  return "$rc"
}

# must LABEL CMD...: the command succeeds, or its output is shown and the benchmark stops.
must() {
  local label=$1 rc=0
  shift
  "$@" || rc=$?
  if ((rc != 0)); then
    tail -n 40 "$WORK/last.out" "$WORK/last.err" >&2
    die "$label failed (exit $rc)"
  fi
}

# median_of FILE: the median of the first column.
median_of() {
  awk '{print $1}' "$1" | sort -n \
    | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# peak_mib FILE: the largest second column (KiB), in MiB.
peak_mib() { awk '$2 > m {m = $2} END {printf "%.0f", m / 1024}' "$1"; }

# ratio A B: A / B with one decimal.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }

# within A B TARGET: exit 0 when A <= TARGET * B.
within() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN {exit !(a <= t * b)}'; }
