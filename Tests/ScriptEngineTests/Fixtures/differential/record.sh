#!/bin/sh
# Records expected.txt from a real Kamailio 5.6.3: runs differential.cfg on 127.0.0.1:5099
# in a private network namespace, sends request.head + body once and keeps the X-R-* lines
# of the reply. Run as root (unshare -n) from any directory:
#   sh Tests/ScriptEngineTests/Fixtures/differential/record.sh
set -e
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
sed 's/{PORT}/5099/g' "$here/differential.cfg" > "$work/differential.cfg"
cat > "$work/send.py" <<'PY'
import socket, sys
head = open(sys.argv[1]).read().replace("{CLIENT_PORT}", "5098").rstrip("\n").split("\n")
msg = "\r\n".join(head) + "\r\n\r\n" + "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 5098))
s.settimeout(5)
s.sendto(msg.encode(), ("127.0.0.1", 5099))
data, _ = s.recvfrom(65535)
for line in data.decode().split("\r\n"):
    if line.startswith("X-R-"):
        print(line)
PY
unshare -n sh -c "ip link set lo up
kamailio -f $work/differential.cfg -DD -E -Y $work -a no > $work/kamailio.log 2>&1 &
pid=\$!
sleep 1
python3 $work/send.py $here/request.head > $work/expected.txt
kill \$pid; wait \$pid 2>/dev/null || true"
kamailio -v | head -1 | sed 's/^/# recorded with /' > "$here/expected.txt"
cat "$work/expected.txt" >> "$here/expected.txt"
rm -rf "$work"
wc -l "$here/expected.txt"
