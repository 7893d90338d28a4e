#!/usr/bin/env bash
# Pre-merge CI for a kernel tree: build the tree with `dmaheap kernel build`,
# run the conformance suites on the built kernel under QEMU, put summary.md on
# the job page, and gate on regressions against the target branch's last run.
# The GitHub Actions workflow and the GitLab CI job in this folder both call
# it; they only fetch the baseline and publish what it leaves in DMAHEAP_OUT.
#
# Environment (all optional):
#   KERNEL_TREE            the kernel tree to build (default: the current folder)
#   KERNEL_ARCH            x86_64 (default) or arm64
#   KERNEL_CONFIG          config fragments of the tree's own, space-separated
#   DMAHEAP_RUN_ARGS       arguments for `dmaheap run` (default: --cma 256M)
#   DMAHEAP_OUT            the run's output folder, made fresh (default: dmaheap-run)
#   DMAHEAP_BASELINE       the target branch's last run folder (default: dmaheap-baseline);
#                          missing or empty: the first run, nothing to gate against
#   DMAHEAP_KNOWN_FAILURES a known-failures file for the gate
#   GITHUB_STEP_SUMMARY    set by GitHub Actions: summary.md and the gate go there
#                          (elsewhere they go to the job log)
#
# Exit status: 0 no regression against the baseline (or no baseline yet),
# 1 a regression, 2 the kernel did not build or the run broke (infrastructure).
set -uo pipefail

harness=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dmaheap() { node "$harness/bin/dmaheap.js" "$@"; }
say() { echo "premerge: $*" >&2; }

tree=${KERNEL_TREE:-.}
arch=${KERNEL_ARCH:-x86_64}
out=${DMAHEAP_OUT:-dmaheap-run}
baseline=${DMAHEAP_BASELINE:-dmaheap-baseline}
# Word-split on purpose: these are lists of arguments.
read -r -a run_args <<<"${DMAHEAP_RUN_ARGS:---cma 256M}"
read -r -a fragments <<<"${KERNEL_CONFIG:-}"

# What the job page should show: GitHub's step summary; elsewhere (GitLab)
# the job log, beside summary.md published as an artifact.
to_summary() { if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat >>"$GITHUB_STEP_SUMMARY"; else cat; fi; }

# A folder left from an earlier attempt would mix two runs' results.
if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
  say "error: $out already holds files (set DMAHEAP_OUT to a fresh folder, or remove it)"
  exit 2
fi

config_args=()
for f in "${fragments[@]}"; do config_args+=(--config "$f"); done
start=$(date +%s)
if ! image=$(dmaheap kernel build --src "$tree" --arch "$arch" "${config_args[@]}"); then
  say "error: the kernel tree $tree did not build for $arch (the build log is named above)"
  printf '## dmaheap: the kernel did not build\n\n`dmaheap kernel build --src %s --arch %s` failed; see the job log.\n' "$tree" "$arch" | to_summary
  exit 2
fi
say "kernel built in $(($(date +%s) - start)) s: $image"

dmaheap run --kernel "$image" --output "$out" "${run_args[@]}"
run_status=$?
say "dmaheap run: exit $run_status"
if [ ! -f "$out/summary.md" ]; then
  say "error: the run left no summary.md in $out: it stopped before it had results"
  printf '## dmaheap: the run did not start\n\nThe kernel built, but `dmaheap run` stopped with exit %s before any result; see the job log.\n' "$run_status" | to_summary
  exit 2
fi
to_summary <"$out/summary.md"

gate_status=0
if [ -f "$baseline/results.jsonl" ]; then
  known=()
  if [ -n "${DMAHEAP_KNOWN_FAILURES:-}" ]; then known=(--known-failures "$DMAHEAP_KNOWN_FAILURES"); fi
  dmaheap compare "$baseline" "$out" --gate "${known[@]}" >"$out/compare.txt"
  gate_status=$?
  cat "$out/compare.txt"
  case $gate_status in
    0) verdict="no regression against the target branch's last run" ;;
    1) verdict="REGRESSIONS against the target branch's last run" ;;
    *) verdict="the comparison with the target branch's last run failed (exit $gate_status)" ;;
  esac
  { printf '\n## Gate: %s\n\n```\n' "$verdict"; cat "$out/compare.txt"; printf '```\n'; } | to_summary
  say "gate: $verdict"
else
  # The first run of a branch, or the baseline expired: nothing to compare
  # with, so nothing regressed. This run becomes the next run's baseline.
  msg="no baseline at $baseline (the target branch has no earlier run): this is the first run, the gate has nothing to compare with and passes; this run is the baseline of the next"
  say "$msg"
  printf '\n## Gate: not compared\n\n%s.\n' "$msg" | to_summary
fi

# A run that broke is exit 2 whatever the gate says: its results are not whole.
if [ "$run_status" -ne 0 ] && [ "$run_status" -ne 1 ]; then exit "$run_status"; fi
exit "$gate_status"
