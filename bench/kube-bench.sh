#!/usr/bin/env bash
# kubectl exec under load: N concurrent `kubectl exec` streams, each printing SIZE KiB of text,
# straight to the Kubernetes API STAND-IN (Tests/Python/kube_api_standin.py: no real API server
# runs here) and through kube-exec-gateway (masking and recording on), in one run, for each
# kubectl version given (1.29 speaks SPDY/3.1, 1.30 and later WebSocket v5). Reports wall time
# per batch and the ratio, errors (must be 0), the gateway's peak RSS and RSS per concurrent
# session, and verifies every recording's seal afterwards.
#   bench/kube-bench.sh [concurrent] [KiB-each]      (VERSIONS="1.29 1.33", ROUNDS=3)
concurrent=${1:-50}
kib=${2:-256}
rounds=${ROUNDS:-3}
versions=${VERSIONS:-"1.29 1.33"}
source "$(dirname "$0")/common.sh"
swift build -c release --product kube-exec-gateway >/dev/null
swift build -c release --product gatewayctl >/dev/null
kubectl_dir=/usr/lib/google-cloud-sdk/bin
python=.build/py-venv/bin/python
[ -x "$python" ] && "$python" -c 'import aiohttp' 2>/dev/null || { python3 -m venv .build/py-venv && .build/py-venv/bin/pip -q install aiohttp; }

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/tls.key" -out "$work/tls.crt" -days 1 -subj /CN=127.0.0.1 \
  -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
echo standin-token > "$work/upstream.token"
standinport=$(freeport)
(cd Tests/Python && exec "../../$python" kube_api_standin.py --port $standinport --cert "$work/tls.crt" --key "$work/tls.key" \
  --token standin-token --log "$work/standin.jsonl") > "$work/standin.log" 2>&1 &
echo $! > "$work/standin.pid"
for _ in $(seq 50); do grep -q ready "$work/standin.log" 2>/dev/null && break; sleep 0.2; done

start_idp
gateway_yaml "kube: { listen: 127.0.0.1:$gwport, admin: 127.0.0.1:$adminport }"
sed -i "1i tls: { cert_file: $work/tls.crt, key_file: $work/tls.key }" "$work/gateway.yaml"
cat >> "$work/gateway.yaml" <<YAML
  - name: bench
    type: kube
    upstream: { url: "https://127.0.0.1:$standinport", token_file: $work/upstream.token, ca_file: $work/tls.crt, impersonate: true }
    allow_groups: [agents]
    api_passthrough: read_only
    guardrails: [{ name: no-rm-rf, command: rm, flags: [recursive, force] }]
    masking: { entities: [${MASK_ENTITIES-EMAIL}] }
    record: true
YAML
start_gateway kube-exec-gateway

kubeconfig() { # NAME SERVER TOKEN
  cat > "$work/$1.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$2", certificate-authority: $work/tls.crt}}]
users: [{name: u, user: {token: "$3"}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: default}}]
current-context: c
YAML
}
kubeconfig direct "https://127.0.0.1:$standinport" standin-token
kubeconfig gateway "https://127.0.0.1:$gwport/connections/bench" "$(cat "$work/tokens/agent.jwt")"

# Text output (base64 of random bytes): what a log read or a query dump through exec looks like.
command=${COMMAND:-"head -c $((kib * 1024 * 3 / 4)) /dev/urandom | base64 -w 76"}
expected=${EXPECTED:-$(( (kib * 1024 * 3 / 4 + 56) / 57 * 77 ))}   # base64 with 76 columns and newlines, roughly
now() { date +%s.%N; }
# batch PATH VERSION: $concurrent execs at once; prints seconds and the failures.
batch() {
  local path=$1 version=$2 failures=0 start end
  start=$(now)
  for i in $(seq $concurrent); do
    HOME=$work "$kubectl_dir/kubectl.$version" --kubeconfig "$work/$path.kubeconfig" exec web-1 -- sh -c "$command" > "$work/out.$i" 2> "$work/err.$i" &
    echo $! > "$work/exec.$i.pid-wait"
  done
  for i in $(seq $concurrent); do
    status=0
    wait "$(cat "$work/exec.$i.pid-wait")" || status=$?
    size=$(stat -c %s "$work/out.$i")
    if [ $status -ne 0 ] || [ "$size" -lt $((expected * 9 / 10)) ]; then
      failures=$((failures + 1))
      cp "$work/out.$i" "$work/failed.$path.$version.$i"
      { echo "$path $version exec $i: exit $status, $size bytes ($work/failed.$path.$version.$i)"; head -c 600 "$work/err.$i"; echo; } >> "$work/failures.txt"
    fi
  done
  end=$(now)
  rm -f "$work"/exec.*.pid-wait
  echo "$(echo "$end - $start" | bc -l) $failures"
}

rss_before=$(grep VmRSS /proc/$(cat "$work/gateway.pid")/status | awk '{print $2}')
printf '\n%-8s %-10s %10s %10s %10s %8s\n' kubectl path "best s" "median s" "MiB/s" errors
declare -A best
total_errors=0
for version in $versions; do
  for path in direct gateway; do
    times=(); errors=0
    for _ in $(seq $rounds); do
      read -r seconds failures < <(batch $path $version)
      times+=("$seconds"); errors=$((errors + failures))
    done
    sorted=($(printf '%s\n' "${times[@]}" | sort -g))
    best[$version.$path]=${sorted[0]}
    median=${sorted[$((rounds / 2))]}
    rate=$(echo "$concurrent * $expected / ${sorted[0]} / 1048576" | bc -l)
    printf '%-8s %-10s %10.2f %10.2f %10.1f %8d\n' "$version" "$path" "${sorted[0]}" "$median" "$rate" "$errors"
    total_errors=$((total_errors + errors))
  done
done
rss_peak=$(grep VmHWM /proc/$(cat "$work/gateway.pid")/status | awk '{print $2}')
echo
for version in $versions; do
  printf 'kubectl %s: gateway/direct wall time %.2f (best of %d, %d concurrent execs of %d KiB)\n' "$version" \
    "$(echo "${best[$version.gateway]} / ${best[$version.direct]}" | bc -l)" "$rounds" "$concurrent" "$kib"
done
printf 'errors: %d\n' "$total_errors"
printf 'gateway RSS: %d MiB before, %d MiB peak: %.0f KiB per concurrent session\n' "$((rss_before / 1024))" "$((rss_peak / 1024))" \
  "$(echo "($rss_peak - $rss_before) / $concurrent" | bc -l)"
# Every session's recording is sealed and verifies (the last ones seal as their connections close).
sleep 2
verified=0; broken=0
for folder in "$work"/recordings/*/; do
  if .build/release/gatewayctl recordings verify "$folder" >/dev/null 2>&1; then verified=$((verified + 1)); else broken=$((broken + 1)); fi
done
printf 'recordings: %d verified, %d failed to verify\n' "$verified" "$broken"
[ -f "$work/failures.txt" ] && { echo "failures:"; head -40 "$work/failures.txt"; }
[ "$total_errors" -eq 0 ] && [ "$broken" -eq 0 ]
