#!/usr/bin/env bash
# An existing message file sent as it is: `smtpsh send --message FILE`
# against `curl -T FILE` (the receiver's limit: nothing but the transfer)
# and `swaks --data @FILE`, one after the other, to Postfix's smtp-sink on
# loopback. Prints wall time, CPU (user+sys) and peak RSS of each run and
# smtpsh's median wall time as a ratio to curl's. See docs/performance.md.
#
# usage: bench/message.sh [SIZE_MIB] [RUNS]    (default 1024 MiB, 3 runs)
# Needs: cargo, postfix (smtp-sink), curl, swaks (optional), python3, time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SIZE_MIB=${1:-1024} RUNS=${2:-3}
WORK=$(mktemp -d)
trap 'kill "$SINK_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
cargo build --release -q
SMTPSH=$PWD/target/release/smtpsh
python3 - "$WORK/m.eml" "$SIZE_MIB" <<'PY'
import base64, os, sys
path, mib = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    f.write(b"From: a@example.com\r\nTo: c@example.org\r\nSubject: big\r\n"
            b"Date: Sun, 06 Dec 2026 22:00:00 +0000\r\nMessage-ID: <big@example.com>\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n")
    enc = base64.encodebytes(os.urandom(57 * 1024)).replace(b"\n", b"\r\n")
    for _ in range(mib * 1024 * 1024 // len(enc)):
        f.write(enc)
PY
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SINK_ARGS=(-c)
[[ $(id -u) -eq 0 ]] && SINK_ARGS+=(-u nobody)
"$(command -v smtp-sink || echo /usr/sbin/smtp-sink)" "${SINK_ARGS[@]}" "127.0.0.1:$PORT" 1000 >/dev/null 2>&1 &
SINK_PID=$!
sleep 1
measure() { # name, command...
    local name=$1; shift
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/t" "$@" >/dev/null 2>"$WORK/err" \
        || { echo "$name failed: $(tail -2 "$WORK/err")"; return; }
    read -r wall user sys rss <"$WORK/t"
    printf '%-7s %6.2f s wall  %5.2f s CPU  %8.1f MiB peak RSS\n' "$name" "$wall" \
        "$(echo "$user + $sys" | bc)" "$(echo "scale=1; $rss / 1024" | bc)"
    echo "$name $wall" >>"$WORK/walls"
}
echo "message: $(stat -c %s "$WORK/m.eml") bytes, $RUNS runs each, smtp-sink on 127.0.0.1:$PORT"
for _ in $(seq "$RUNS"); do
    measure smtpsh "$SMTPSH" --no-history -c "connect 127.0.0.1 $PORT" -c 'from a@example.com' \
        -c 'to c@example.org' -c "send --message $WORK/m.eml"
    measure curl curl -sS "smtp://127.0.0.1:$PORT" --mail-from a@example.com \
        --mail-rcpt c@example.org -T "$WORK/m.eml"
    if command -v swaks >/dev/null && ((SIZE_MIB <= 256)); then
        measure swaks swaks --server "127.0.0.1:$PORT" --from a@example.com --to c@example.org \
            --data "@$WORK/m.eml" --silent 2
    fi
done
median() { grep "^$1 " "$WORK/walls" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "smtpsh / curl -T (median wall): $(echo "scale=2; $(median smtpsh) / $(median curl)" | bc)x"
