#!/usr/bin/env bash
# Concurrent ssh exec sessions through one ssh-gateway (default 100 at once), beside the same
# batch straight to the OpenSSH server and through OpenSSH as a ProxyJump host, in one run.
# Each session prints LINES lines a quarter-second apart (a command that runs a while, as a
# log tail or a build does), so all of them are open together. Reports the wall time of each
# batch and the ratios, errors (an exit status other than 0 or a line missing: must be 0),
# the gateway's RSS before and at its peak and per session, and verifies every recording.
#   bench/ssh-load.sh [sessions] [lines]
sessions=${1:-100}
lines=${2:-40}
# All sessions connect at once from one address: the per-address cap on unauthenticated
# connections (32 by default) is raised as a deployment behind one NAT address would.
export SERVICE_EXTRA=", max_unauthenticated_per_address: $((sessions + 10)), max_unauthenticated: $((sessions + 50))"
export SSHD_MAX_STARTUPS=$((sessions * 3))
source "$(dirname "$0")/common.sh"
swift build -c release --product gatewayctl >/dev/null
start_ssh_paths
"${direct[@]}" true && "${jump[@]}" true && "${gateway[@]}" true

command="for i in \$(seq 1 $lines); do echo line-\$i-\$(head -c 200 /dev/zero | tr '\\0' x); sleep 0.25; done"
now() { date +%s.%N; }
# batch PATH: $sessions sessions at once; prints seconds and failures.
batch() {
  declare -n cmd=$1
  local failures=0 start end pids=()
  start=$(now)
  for i in $(seq "$sessions"); do
    "${cmd[@]}" "$command" > "$work/out.$1.$i" 2> "$work/err.$1.$i" &
    pids+=($!)
  done
  for i in $(seq "$sessions"); do
    status=0
    wait "${pids[$((i - 1))]}" || status=$?
    if [ $status -ne 0 ] || ! grep -q "^line-$lines-x" "$work/out.$1.$i"; then
      failures=$((failures + 1))
      { echo "$1 session $i: exit $status, $(wc -l < "$work/out.$1.$i") lines"; head -c 400 "$work/err.$1.$i"; echo; } >> "$work/failures.txt"
    fi
  done
  end=$(now)
  echo "$(echo "$end - $start" | bc -l) $failures"
}

gwpid=$(cat "$work/gateway.pid")
rss_before=$(awk '/VmRSS/ {print $2}' /proc/$gwpid/status)
declare -A seconds errors
for path in direct jump gateway; do
  read -r seconds[$path] errors[$path] < <(batch $path)
done
rss_peak=$(awk '/VmHWM/ {print $2}' /proc/$gwpid/status)

echo
echo "$sessions concurrent ssh exec sessions, $lines lines each 0.25 s apart (ideal $(echo "$lines * 0.25" | bc) s), $(nproc) cores, loopback"
printf '%-10s %10s %10s %8s\n' path "wall s" "vs direct" errors
for path in direct jump gateway; do
  printf '%-10s %10.2f %10.2f %8d\n' $path "${seconds[$path]}" "$(echo "${seconds[$path]} / ${seconds[direct]}" | bc -l)" "${errors[$path]}"
done
printf '\ngateway RSS: %d MiB before, %d MiB peak with %d sessions: %.0f KiB per session\n' "$((rss_before / 1024))" "$((rss_peak / 1024))" \
  "$sessions" "$(echo "($rss_peak - $rss_before) / $sessions" | bc -l)"
verify_recordings
complete=0
for folder in "$work"/recordings/*/; do
  grep -q "line-$lines-x" "$folder/terminal.cast" 2>/dev/null && complete=$((complete + 1))
done
# The warm-up session (`true`) has no line output.
printf 'recordings: %d verified, %d failed to verify; %d hold their session'"'"'s last line (expected %d)\n' "$verified" "$broken" "$complete" "$sessions"
[ -f "$work/failures.txt" ] && { echo "failures:"; head -40 "$work/failures.txt"; }
[ "${errors[direct]}" -eq 0 ] && [ "${errors[gateway]}" -eq 0 ] && [ "$broken" -eq 0 ] && [ "$complete" -eq "$sessions" ]
