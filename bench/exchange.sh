#!/usr/bin/env bash
# Gateway throughput, in one run on loopback (bounded: under two minutes):
#   1. straight to a small upstream (nginx returning a fixed JSON body),
#   2. through nginx as a plain reverse proxy with its access log on,
#   3. through lienthong's HTTP stack alone (`lienthong bench proxy`: axum's server and the
#      gateway's pooled client, no checks, no audit), to tell the stack's cost from the rest,
#   4. through lienthong: X-Road r1, bearer-token client check, access rights, and an audit
#      entry made durable (group commit) before each answer.
# Then, at half of lienthong's maximum rate, the p99 latency straight and through lienthong.
# Needs: nginx, oha (cargo install oha), openssl, curl. Usage: bench/exchange.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
UPSTREAM_PORT=18181
PROXY_PORT=18182
GATEWAY_PORT=18183
STACK_PORT=18184
for tool in nginx oha openssl curl; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# LIENTHONG_BIN measures another build (an earlier commit, say) with the same script.
if [ -z "${LIENTHONG_BIN:-}" ]; then
    cargo build --release --quiet
fi
bin=${LIENTHONG_BIN:-${CARGO_TARGET_DIR:-target}/release/lienthong}
# Settings in a section are LIENTHONG_<SECTION>__<SETTING>; builds before issue 12 read flat
# names (LIENTHONG_PUBLIC_URL) and refuse nothing, while later builds refuse the flat ones.
if [[ $("$bin" --help) == *'<SECTION>__<SETTING>'* ]]; then
    public_url_variable=LIENTHONG_IDENTITY__PUBLIC_URL
    networks_variable=LIENTHONG_EXCHANGE__PROVIDER_NETWORKS
else
    public_url_variable=LIENTHONG_PUBLIC_URL
    networks_variable=LIENTHONG_EXCHANGE_PROVIDER_NETWORKS
fi

mkdir -p "$work/logs"
cat > "$work/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/logs/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    upstream backend { server 127.0.0.1:$UPSTREAM_PORT; keepalive 64; }
    server {
        listen 127.0.0.1:$UPSTREAM_PORT;
        location / { default_type application/json; return 200 '{"card":"79","valid":true}'; }
    }
    server {
        listen 127.0.0.1:$PROXY_PORT;
        access_log $work/logs/access.log;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
CONF
nginx -c "$work/nginx.conf" -p "$work"

# An agency system with its own key, registered as a machine client of the exchange.
openssl ecparam -name prime256v1 -genkey -noout -out "$work/client.pem" 2>/dev/null
openssl ec -in "$work/client.pem" -pubout -out "$work/client.pub.pem" 2>/dev/null
data="$work/data"
client_id=$("$bin" identity add-machine-client --data-dir "$data" --name bench \
    --subject VN/GOV/BENCH/client --public-key "$work/client.pub.pem" --scope exchange \
    | awk '/client_id/ {print $2}')
# The provider runs on this machine, so the bench lists loopback among the provider networks.
export "$networks_variable"='["0.0.0.0/0", "::/0", "127.0.0.0/8", "::1/128"]'
cat > "$work/exchange.json" <<JSON
{
  "members": [{"id": "VN/GOV/BENCH", "name": "Benchmark client"},
              {"id": "VN/GOV/UPSTREAM", "name": "Benchmark provider"}],
  "subsystems": [{"id": "VN/GOV/BENCH/client", "name": "client"},
                 {"id": "VN/GOV/UPSTREAM/cards", "name": "cards"}],
  "services": [{"id": "VN/GOV/UPSTREAM/cards/lookup", "base_url": "http://127.0.0.1:$UPSTREAM_PORT",
                "endpoints": [{"method": "GET", "path": "/cards/*"}]}],
  "rights": [{"client": "VN/GOV/BENCH/client", "service": "VN/GOV/UPSTREAM/cards/lookup",
              "method": "GET", "path": "/cards/*"}]
}
JSON
"$bin" exchange apply --data-dir "$data" "$work/exchange.json" >/dev/null
env RUST_LOG=warn "$public_url_variable=http://127.0.0.1:$GATEWAY_PORT" "$bin" serve --data-dir "$data" \
    --listen "127.0.0.1:$GATEWAY_PORT" >"$work/logs/lienthong.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$GATEWAY_PORT/readyz" >/dev/null && break
    sleep 0.1
done
RUST_LOG=warn "$bin" bench proxy --listen "127.0.0.1:$STACK_PORT" \
    --upstream "http://127.0.0.1:$UPSTREAM_PORT" >"$work/logs/stack.log" 2>&1 &
pids+=($!)
assertion=$("$bin" identity client-assertion --data-dir "$data" --client-id "$client_id" \
    --key "$work/client.pem" --audience "http://127.0.0.1:$GATEWAY_PORT/oauth/token")
token=$(curl -fs "http://127.0.0.1:$GATEWAY_PORT/oauth/token" \
    -d grant_type=client_credentials \
    -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
    -d "client_assertion=$assertion" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

direct="http://127.0.0.1:$UPSTREAM_PORT/cards/79"
proxied="http://127.0.0.1:$PROXY_PORT/cards/79"
stack="http://127.0.0.1:$STACK_PORT/cards/79"
gateway="http://127.0.0.1:$GATEWAY_PORT/r1/VN/GOV/UPSTREAM/cards/lookup/cards/79"
xroad=(-H "X-Road-Client: VN/GOV/BENCH/client" -H "Authorization: Bearer $token")

# A call that must succeed before anything is measured.
curl -fs "${xroad[@]}" "$gateway" | grep -q '"valid":true'
curl -fs --retry 30 --retry-connrefused --retry-delay 1 "$stack" | grep -q '"valid":true'

field() { # field NAME FILE: a number from oha's JSON output
    python3 -c "import json,sys; d=json.load(open(sys.argv[2])); print(eval(sys.argv[1], {}, {'d': d}))" "$1" "$2"
}
run() { # run NAME RATE URL [headers...]
    local name=$1 rate=$2 url=$3; shift 3
    local limit=()
    [ "$rate" != max ] && limit=(-q "$rate")
    oha -z "$DURATION" -c "$CONNECTIONS" "${limit[@]}" --no-tui --output-format json "$@" "$url" >"$work/$name.json"
    local ok
    ok=$(field "d['statusCodeDistribution'].get('200', 0)" "$work/$name.json")
    [ "$ok" -gt 0 ] || { echo "$name: no successful responses" >&2; exit 1; }
}

run direct max "$direct"
run nginx max "$proxied"
run stack max "$stack"
run lienthong max "$gateway" "${xroad[@]}"
rps() { field "round(d['summary']['requestsPerSec'])" "$work/$1.json"; }
d=$(rps direct); n=$(rps nginx); s=$(rps stack); l=$(rps lienthong)
half=$((l / 2))
run direct_half "$half" "$direct"
before=$(curl -fs "http://127.0.0.1:$GATEWAY_PORT/metrics")
run lienthong_half "$half" "$gateway" "${xroad[@]}"
after=$(curl -fs "http://127.0.0.1:$GATEWAY_PORT/metrics")
p99() { field "round(d['latencyPercentiles']['p99'] * 1000, 3)" "$work/$1.json"; }
entries=$("$bin" audit verify --data-dir "$data" | head -1)

echo "connections $CONNECTIONS, $DURATION per run, $(nproc) cores, loopback"
echo "straight to upstream:                 $d requests/s"
echo "nginx reverse proxy, access log on:   $n requests/s"
echo "lienthong's HTTP stack, bare proxy:   $s requests/s"
echo "lienthong r1 gateway, durable audit:  $l requests/s"
python3 -c "print(f'ratio lienthong / nginx: {$l / $n:.2f} (goal: at least 1.00); lienthong / direct: {$l / $d:.2f}')"
python3 -c "print(f'ratio bare stack / nginx: {$s / $n:.2f}; lienthong / bare stack: {$l / $s:.2f}')"
echo "at $half requests/s: p99 straight $(p99 direct_half) ms, through lienthong $(p99 lienthong_half) ms"
python3 -c "print(f'p99 added latency: {$(p99 lienthong_half) - $(p99 direct_half):.3f} ms (goal: under 2 ms)')"
# How long the half-rate answers waited for their audit entry to be durable: the bucket of
# the exchange_audit_wait_seconds histogram that holds their 99th percentile.
python3 - "$before" "$after" <<'PY'
import re, sys
def buckets(text):
    return {float(m.group(1)): float(m.group(2)) for m in re.finditer(
        r'exchange_audit_wait_seconds_bucket\{le="([0-9.e+-]+)"\} (\S+)', text)}
before, after = buckets(sys.argv[1]), buckets(sys.argv[2])
counts = sorted((le, after[le] - before.get(le, 0)) for le in after)
total = counts[-1][1] if counts else 0
bound = next((le for le, n in counts if total and n >= 0.99 * total), None)
if bound is not None:
    print(f"audit wait at that rate: 99 % of answers within {bound * 1000:g} ms")
PY
echo "audit: $entries"
