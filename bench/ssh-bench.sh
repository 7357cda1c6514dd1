#!/usr/bin/env bash
# OpenSSH's client against one sshd through three paths in one run: direct, through OpenSSH
# as a ProxyJump host (the same sshd, jumping to itself) and through ssh-gateway with
# recording on. Measures `cat` of a large file (throughput) and `true` run N times one after
# another (per-command latency, connection set-up included). Prints a table with ratios.
#   bench/ssh-bench.sh [size-MiB] [commands]      (RECORD=false: the gateway without recording)
size_mib=${1:-1024}
commands=${2:-100}
runs=${RUNS:-2}
source "$(dirname "$0")/common.sh"
start_ssh_paths

# A text file (base64), so the recording stores it as text, as it would a log being read.
head -c $((size_mib * 1024 * 1024 * 3 / 4)) /dev/urandom | base64 -w 76 > "$work/big.txt"
bytes=$(stat -c %s "$work/big.txt")
"${direct[@]}" true && "${jump[@]}" true && "${gateway[@]}" true

now() { date +%s.%N; }
declare -A mbps latency
for path in direct jump gateway; do
  declare -n cmd=$path
  # Correctness first, untimed: 16 MiB compared byte for byte.
  "${cmd[@]}" "head -c 16777216 $work/big.txt" | cmp -s - <(head -c 16777216 "$work/big.txt") || { echo "$path: output differs" >&2; exit 1; }
  # Then the best of $runs timed runs into /dev/null (no page-cache writeback of our own output).
  best=0
  for _ in $(seq $runs); do
    start=$(now); "${cmd[@]}" "cat $work/big.txt" > /dev/null; end=$(now)
    rate=$(echo "$bytes / ($end - $start) / 1048576" | bc -l)
    best=$(echo "if ($rate > $best) $rate else $best" | bc -l)
  done
  mbps[$path]=$best
  start=$(now); for _ in $(seq $commands); do "${cmd[@]}" true; done; end=$(now)
  latency[$path]=$(echo "($end - $start) * 1000 / $commands" | bc -l)
done
rss=$(grep VmHWM /proc/$(cat "$work/gateway.pid")/status | awk '{print $2}')

printf '\n%-28s %12s %12s %12s\n' "" direct proxyjump gateway
printf '%-28s %12.1f %12.1f %12.1f\n' "cat $((bytes / 1048576)) MiB (MiB/s, best of $runs)" "${mbps[direct]}" "${mbps[jump]}" "${mbps[gateway]}"
printf '%-28s %12.1f %12.1f %12.1f\n' "true x$commands (ms each)" "${latency[direct]}" "${latency[jump]}" "${latency[gateway]}"
printf '\nthroughput gateway/proxyjump: %.2f   gateway/direct: %.2f\n' "$(echo "${mbps[gateway]} / ${mbps[jump]}" | bc -l)" "$(echo "${mbps[gateway]} / ${mbps[direct]}" | bc -l)"
printf 'latency    gateway/proxyjump: %.2f   gateway/direct: %.2f\n' "$(echo "${latency[gateway]} / ${latency[jump]}" | bc -l)" "$(echo "${latency[gateway]} / ${latency[direct]}" | bc -l)"
printf 'gateway peak RSS: %d MiB; recording: %s\n' "$((rss / 1024))" "$(du -sh "$work/recordings" | cut -f1)"
