#!/bin/sh
# TLS cost beside Kamailio 5.6.3: 200 handshakes, then N REGISTERs (default 10000) one at a
# time over one long-lived TLS connection, against kamailiod and against kamailio with the
# same script; server CPU from /proc/PID/stat (kamailio: all its processes).
# Run inside a private network namespace:
#   unshare -n sh -c 'ip link set lo up; Benchmarks/tls/run.sh .build/release/kamailiod'
set -eu
DAEMON=$(realpath "$1")
N=${N:-10000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/tls-bench-XXXXXX)
# The Python ssl user agent the integration tests use, with CPU summed over several pids.
sed -n '/static let script = #"""/,/^"""#/p' "$ROOT/Tests/IntegrationTests/DaemonTLSSupport.swift" | sed '1d;$d' \
    | sed 's/ap.add_argument("--pid", type=int, default=0)/ap.add_argument("--pid", default="0")/' \
    | python3 -c '
import sys
s = sys.stdin.read()
s = s.replace("""def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])""", """def cpu_ticks(pids):
    total = 0
    for pid in str(pids).split(","):
        with open("/proc/%s/stat" % pid) as f:
            parts = f.read().rsplit(")", 1)[1].split()
        total += int(parts[11]) + int(parts[12])
    return total""")
print(s)' > "$W/ua.py"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench -keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null
body='loadmodule "sl.so"
loadmodule "textops.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "tls.so"
modparam("tls", "tls_method", "TLSv1.2+")
modparam("tls", "certificate", "'"$W"'/cert.pem")
modparam("tls", "private_key", "'"$W"'/key.pem")
request_route {
    if (is_method("REGISTER")) { save("location"); exit; }
    sl_send_reply("404", "Not here");
}'
printf '#!KAMAILIO\ndebug=1\nchildren=2\ntcp_children=2\nlisten=udp:127.0.0.1:35060\nlisten=tls:127.0.0.1:35061\n%s\n' "$body" > "$W/ours.cfg"
printf '#!KAMAILIO\ndebug=1\nchildren=2\ntcp_children=2\nenable_tls=yes\nlisten=udp:127.0.0.1:36060\nlisten=tls:127.0.0.1:36061\nmpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"\nloadmodule "pv.so"\n%s\n' "$body" > "$W/kam.cfg"
"$DAEMON" -DD -E -f "$W/ours.cfg" > "$W/ours.log" 2>&1 &
OURS=$!
kamailio -DD -E -f "$W/kam.cfg" -w "$W" -Y "$W" > "$W/kam.log" 2>&1 &
KAM=$!
sleep 4
KPIDS=$(echo $KAM $(ps -o pid= --ppid $KAM) | tr ' ' ',')
echo "== kamailiod"
python3 "$W/ua.py" bench --port 35061 --count "$N" --pid "$OURS"
echo "== kamailio 5.6.3"
python3 "$W/ua.py" bench --port 36061 --count "$N" --pid "$KPIDS"
kill "$OURS"
kill -9 $(echo "$KPIDS" | tr ',' ' ')
wait || true
rm -rf "$W"
