#!/bin/sh
# Instructions per stateful call, for kamailiod or real Kamailio, under callgrind.
#
# CPU seconds on this shared 2-core machine swing by 20 % between runs; instruction
# counts do not, so a change to the hot path is judged here first and confirmed with
# ../shared/bench afterwards. Runs ../shared/bench's stateful workload (tm + dialog +
# rr) at a low rate, so valgrind keeps up.
#
#   unshare -n sh -c 'ip link set lo up; Benchmarks/profile/callgrind.sh .build-rel/release/kamailiod /tmp/cg'
#   unshare -n sh -c 'ip link set lo up; Benchmarks/profile/callgrind.sh kamailio /tmp/cgk'
#
# WORKLOAD=stateless profiles bench-stateless.cfg (forward() with record_route) instead.
#
# Then: callgrind_annotate --inclusive=yes /tmp/cg.cg.* | grep handleMessage (kamailiod:
# the message work of all workers; divide by CALLS), or for Kamailio add the `summary:`
# lines of its two UDP worker files (the two largest after the main process).
set -eu
BIN=$1
OUT=$2
RATE=${RATE:-20}
CALLS=${CALLS:-200}
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH=${BENCH:-$HERE/../../../shared/bench}
CFG=$BENCH/cfg/bench-${WORKLOAD:-stateful}.cfg
rm -f "$OUT".cg.*
case $(basename "$BIN") in
kamailio) set -- "$BIN" -f "$CFG" -DD -m 256 -x fm -A BENCH_CHILDREN=2; WARM=15 ;;
*) set -- "$BIN" -f "$CFG" -DD -m 256 -A BENCH_CHILDREN=2; WARM=8 ;;
esac
valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$OUT.cg.%p" "$@" > "$OUT.server.log" 2>&1 &
SERVER=$!
sleep $WARM
sipp -sf "$BENCH/scenarios/uas_rr.xml" -m "$CALLS" -i 127.0.0.1 -p 5081 -mp 5084 -ci 127.0.0.1 -cp 5088 \
    -nostdin -pause_msg_ign > /dev/null 2>&1 &
UAS=$!
sleep 0.5
sipp 127.0.0.1:5080 -sf "$BENCH/scenarios/uac_rr.xml" -s bench -d 1000 -r "$RATE" -m "$CALLS" -l 2100 \
    -i 127.0.0.1 -p 5082 -mp 5085 -ci 127.0.0.1 -cp 5089 -nostdin -timeout 300s -pause_msg_ign > "$OUT.uac.log" 2>&1 || true
grep -E "Successful call|Failed call" "$OUT.uac.log" || true
sleep 2
kill "$SERVER" "$UAS" 2>/dev/null || true
wait "$SERVER" 2>/dev/null || true
wait "$UAS" 2>/dev/null || true
sleep 5
for f in "$OUT".cg.*; do echo "$f $(grep '^summary:' "$f")"; done
