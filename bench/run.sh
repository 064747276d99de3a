#!/usr/bin/env bash
# smtpsh against its peers: each sends one message with a base64 attachment
# to Postfix's smtp-sink on loopback, side by side in one run; median wall
# time, CPU (user+sys) and peak RSS per client and size, each peer's ratio
# to smtpsh, and smtpsh's ratio to the receiver's own limit (`curl -T` of a
# prebuilt message). Then the encoder micro benchmark. See
# docs/performance.md for what the numbers mean.
#
# usage: bench/run.sh [--quick] [--runs N] [--port PORT] [--mem-cap GIB]
#                     [--no-install] [--keep]
#   --quick       tiny, 1 MiB and 100 MiB only (by default 1 GiB too)
#   --runs N      runs per client and size, median reported (default 3;
#                 the tiny message runs 5 times as many, 1 GiB once)
#   --port PORT   smtp-sink's port (default: a free one)
#   --mem-cap GIB address-space cap for every client (default 8): a client
#                 that needs more fails and is reported, instead of taking
#                 the machine's memory
#   --no-install  do not apt-get install missing tools (their rows say
#                 "not run")
#   --keep        keep the temporary directory (files, logs)
#
# Needs: cargo, and (installed with apt-get when missing and running as
# root) postfix (smtp-sink), curl, swaks, s-nail, time, python3. Each client
# run is measured by a small Python helper (below) around /usr/bin/time and
# killed if it outlasts its time limit: the script stops by itself.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

QUICK=0 RUNS=3 PORT="" MEM_CAP_GIB=8 INSTALL=1 KEEP=0
while (($#)); do
    case $1 in
    --quick) QUICK=1 ;;
    --runs) RUNS=$2; shift ;;
    --port) PORT=$2; shift ;;
    --mem-cap) MEM_CAP_GIB=$2; shift ;;
    --no-install) INSTALL=0 ;;
    --keep) KEEP=1 ;;
    -h | --help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "--runs needs a positive number" >&2; exit 2; }
[[ $MEM_CAP_GIB =~ ^[1-9][0-9]*$ ]] || { echo "--mem-cap needs a number of GiB" >&2; exit 2; }

log() { printf '%s\n' "$*" >&2; }

# ---------------------------------------------------------------- tools

SINK=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
have() {
    case $1 in
    smtp-sink) [[ -x $SINK ]] ;;
    time) [[ -x /usr/bin/time ]] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
    esac
}
missing=()
for need in smtp-sink:postfix curl:curl swaks:swaks s-nail:s-nail time:time python3:python3; do
    have "${need%%:*}" || missing+=("${need#*:}")
done
if ((${#missing[@]})); then
    if ((INSTALL)) && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        log "installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        # Postfix asks how to set up the system instance; the benchmark
        # never uses it (smtp-sink is a separate program).
        debconf-set-selections <<'DEBCONF'
postfix postfix/main_mailer_type select Local only
postfix postfix/mailname string localhost.localdomain
DEBCONF
        apt-get update -q >&2
        apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
            log "apt-get install failed; the clients still missing are reported as not run"
    else
        log "missing: ${missing[*]} (not installed: run as root without --no-install to install them)"
    fi
    SINK=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
fi
have smtp-sink || { log "smtp-sink (package postfix) is needed: it is the receiver"; exit 1; }
have python3 || { log "python3 is needed: it measures each run"; exit 1; }
have time || { log "/usr/bin/time (package time) is needed: it measures peak memory"; exit 1; }
command -v cargo >/dev/null || { log "cargo is needed to build smtpsh"; exit 1; }

# ---------------------------------------------------------------- build

log "building smtpsh (release) and the encoder benchmark"
cargo build --release --quiet --bin smtpsh --example encoder
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SMTPSH=$TARGET/release/smtpsh
ENCODER=$TARGET/release/examples/encoder
[[ -x $SMTPSH && -x $ENCODER ]] || { log "build output not found under $TARGET"; exit 1; }

# ---------------------------------------------------------------- set-up

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smtpsh-bench.XXXXXX")
chmod 755 "$WORK"
SINK_PID=""
cleanup() {
    if [[ -n $SINK_PID ]]; then
        kill "$SINK_PID" 2>/dev/null || true
        wait "$SINK_PID" 2>/dev/null || true
    fi
    if ((KEEP)); then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z $PORT ]]; then
    PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo 25250)
fi
SINK_ARGS=(-c -a -C)
[[ $(id -u) -eq 0 ]] && SINK_ARGS+=(-u nobody)
"$SINK" "${SINK_ARGS[@]}" "127.0.0.1:$PORT" 1000 >"$WORK/sink.log" 2>"$WORK/sink.err" &
SINK_PID=$!
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null ||
    { log "smtp-sink did not start: $(cat "$WORK/sink.err")"; exit 1; }
# That probe was a session, not a message: only `mesg=` is counted.

# Messages smtp-sink has received so far (its -c counter line).
sink_count() {
    tr '\r' '\n' <"$WORK/sink.log" | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -1 | grep . || echo 0
}

SIZES=(tiny 1m 100m)
((QUICK)) || SIZES+=(1g)
declare -A BYTES=([1m]=1048576 [100m]=104857600 [1g]=1073741824)
declare -A LABEL=([tiny]="tiny message" [1m]="1 MiB attachment" [100m]="100 MiB attachment" [1g]="1 GiB attachment")
declare -A LIMIT=([tiny]=60 [1m]=60 [100m]=300 [1g]=900)

for size in "${SIZES[@]}"; do
    [[ $size == tiny ]] && continue
    log "creating a ${LABEL[$size]} of random bytes"
    head -c "${BYTES[$size]}" /dev/urandom >"$WORK/file-$size.bin"
done
printf 'hello\n' >"$WORK/body.txt"

# smtpsh's script, and with `save` the prebuilt message for `curl -T`.
draft() { # SIZE
    printf 'from a@example.com\nto b@example.com\nsubject bench %s\nbody hello\n' "$1"
    [[ $1 == tiny ]] || printf 'attach %s\n' "$WORK/file-$1.bin"
}
for size in "${SIZES[@]}"; do
    { draft "$size"; printf 'connect 127.0.0.1 %s\nsend\n' "$PORT"; } >"$WORK/send-$size.smtp"
    { draft "$size"; printf 'save %s\n' "$WORK/message-$size.eml"; } >"$WORK/save-$size.smtp"
    "$SMTPSH" --no-history -f "$WORK/save-$size.smtp" >/dev/null
done

cat >"$WORK/send.py" <<'PY'
import os, smtplib, sys
from email.message import EmailMessage

port, path = int(sys.argv[1]), sys.argv[2]
m = EmailMessage()
m["From"], m["To"], m["Subject"] = "a@example.com", "b@example.com", "bench"
m.set_content("hello\n")
if path:
    with open(path, "rb") as f:
        m.add_attachment(f.read(), maintype="application", subtype="octet-stream",
                         filename=os.path.basename(path))
with smtplib.SMTP("127.0.0.1", port) as s:
    s.send_message(m)
PY

# Runs one command and prints "EXIT WALL CPU MAXRSS": its exit code (or
# "timeout"), wall seconds from fork to exit and user+sys seconds (from
# wait4(), microsecond resolution), and peak RSS in KiB from /usr/bin/time,
# which starts the client (a child forked from Python would count Python's
# own memory as its peak). The client gets an address-space cap and a time
# limit (then it and /usr/bin/time are killed).
cat >"$WORK/measure.py" <<'PY'
import os, resource, signal, subprocess, sys, threading, time

limit, cap, stdin, out, err, rss_file = sys.argv[1:7]
cmd = ["/usr/bin/time", "-f", "%M", "-o", rss_file] + sys.argv[7:]

# The cap is set here and inherited: without a preexec function Python
# starts the child with vfork, which is cheaper to measure around.
resource.setrlimit(resource.RLIMIT_AS, (int(cap), int(cap)))

def kill(p, killed):
    """The client (the child of /usr/bin/time), then /usr/bin/time."""
    killed.append(1)
    try:
        with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except OSError:
        children = []
    for pid in children + [p.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

with open(stdin, "rb") as i, open(out, "wb") as o, open(err, "wb") as e:
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=i, stdout=o, stderr=e)
    killed = []
    timer = threading.Timer(float(limit), kill, (p, killed))
    timer.start()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
rss = "0"
try:
    with open(rss_file) as f:
        lines = [l for l in f.read().split() if l.isdigit()]
        rss = lines[-1] if lines else "0"
except OSError:
    pass
code = "timeout" if killed else str(p.returncode)
print(code, "%.6f" % wall, "%.6f" % (ru.ru_utime + ru.ru_stime), rss)
PY

# The clients, by name: the command for SIZE (file arguments filled in).
CLIENTS=(smtpsh "curl -T" "curl -F" swaks s-nail python)
client_cmd() { # CLIENT SIZE -> sets CMD (array) and STDIN
    local c=$1 size=$2 f="$WORK/file-$2.bin"
    STDIN=/dev/null
    case $c in
    smtpsh) CMD=("$SMTPSH" --no-history -f "$WORK/send-$size.smtp") ;;
    "curl -T")
        CMD=(curl -sS "smtp://127.0.0.1:$PORT" --mail-from a@example.com
            --mail-rcpt b@example.com -T "$WORK/message-$size.eml") ;;
    "curl -F")
        CMD=(curl -sS "smtp://127.0.0.1:$PORT" --mail-from a@example.com
            --mail-rcpt b@example.com -H "Subject: bench" -F "=hello")
        [[ $size == tiny ]] || CMD+=(-F "=@$f;encoder=base64") ;;
    swaks)
        CMD=(swaks --server "127.0.0.1:$PORT" --from a@example.com --to b@example.com
            --header "Subject: bench" --body hello --silent 3)
        [[ $size == tiny ]] || CMD+=(--attach "$f") ;;
    s-nail)
        CMD=(s-nail -:/ -S v15-compat -S "mta=smtp://127.0.0.1:$PORT" -S smtp-auth=none
            -S nosave -S from=a@example.com -S sendwait -s bench)
        [[ $size == tiny ]] || CMD+=(-a "$f")
        CMD+=(b@example.com)
        STDIN=$WORK/body.txt ;;
    python)
        CMD=(python3 "$WORK/send.py" "$PORT")
        if [[ $size == tiny ]]; then CMD+=(""); else CMD+=("$f"); fi ;;
    esac
}
client_missing() { # CLIENT -> reason, or nothing when it can run
    case $1 in
    smtpsh) ;;
    "curl -T" | "curl -F") have curl || echo "curl not installed" ;;
    swaks) have swaks || echo "swaks not installed" ;;
    s-nail) have s-nail || echo "s-nail not installed" ;;
    python) have python3 || echo "python3 not installed" ;;
    esac
}

# One run: "wall cpu rss" on stdout, or "FAIL reason".
run_once() { # CLIENT SIZE
    client_cmd "$1" "$2"
    local before after rc w u m
    before=$(sink_count)
    read -r rc w u m < <(measure "${LIMIT[$2]}" "$STDIN" "${CMD[@]}")
    # smtp-sink counts a message when it has the final dot; a client exits
    # after the reply to it, so the count is normally there already.
    for _ in $(seq 20); do
        after=$(sink_count)
        ((after > before)) && break
        sleep 0.05
    done
    if [[ $rc == timeout ]]; then echo "FAIL timed out after ${LIMIT[$2]} s"; return; fi
    if [[ $rc != 0 ]]; then
        local why
        why=$(grep -i -m1 -E 'memory|error|fail|denied|refused' "$WORK/client.err" || true)
        [[ -z $why ]] && why=$(tail -1 "$WORK/client.err")
        echo "FAIL exit $rc${why:+: ${why:0:100}} (memory cap ${MEM_CAP_GIB} GiB)"
        return
    fi
    if ((after != before + 1)); then echo "FAIL exit 0 but smtp-sink counted $((after - before)) messages"; return; fi
    echo "$w $u $m"
}

measure() { # LIMIT STDIN CMD...
    local limit=$1 stdin=$2
    shift 2
    python3 "$WORK/measure.py" "$limit" $((MEM_CAP_GIB * 1024 * 1024 * 1024)) "$stdin" \
        "$WORK/client.out" "$WORK/client.err" "$WORK/rss.out" "$@"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

human_rss() { awk -v k="$1" 'BEGIN { if (k >= 1048576) printf "%.1f GiB", k / 1048576; else printf "%.1f MiB", k / 1024 }'; }
human_cpu() { awk -v s="$1" 'BEGIN { if (s < 0.1) printf "%.1f ms", s * 1000; else printf "%.2f s", s }'; }
human_wall() { awk -v s="$1" 'BEGIN { if (s < 1) printf "%.1f ms", s * 1000; else printf "%.2f s", s }'; }

# The floor under every measurement: starting a process through the
# measurer (fork, exec of /usr/bin/time, of `true`). Not subtracted — on a
# busy machine it varies by milliseconds — but reported: it matters for the
# tiny message only.
overhead=() overhead_cpu=()
for _ in $(seq 15); do
    read -r _ w u _ < <(measure 10 /dev/null true)
    overhead+=("$w") overhead_cpu+=("$u")
done
OVERHEAD=$(printf '%s\n' "${overhead[@]}" | median)
OVERHEAD_CPU=$(printf '%s\n' "${overhead_cpu[@]}" | median)
FLOOR=$(awk -v s="$OVERHEAD" -v c="$OVERHEAD_CPU" 'BEGIN { printf "%.1f ms wall, %.1f ms CPU", s * 1000, c * 1000 }')
log "floor (starting \`true\` through the measurer): $FLOOR"

declare -A WALL CPU RSS STATUS
for size in "${SIZES[@]}"; do
    runs=$RUNS
    [[ $size == tiny ]] && runs=$((RUNS * 5))
    [[ $size == 1g ]] && runs=1
    for c in "${CLIENTS[@]}"; do
        why=$(client_missing "$c")
        if [[ -n $why ]]; then STATUS[$c,$size]="not run: $why"; continue; fi
        log "${LABEL[$size]}: $c ($runs run$( ((runs > 1)) && echo s))"
        walls=() cpus=() rsss=() fail=""
        for _ in $(seq "$runs"); do
            r=$(run_once "$c" "$size")
            if [[ $r == FAIL* ]]; then fail=${r#FAIL }; break; fi
            read -r w u m <<<"$r"
            walls+=("$w") cpus+=("$u") rsss+=("$m")
        done
        if [[ -n $fail ]]; then STATUS[$c,$size]="failed: $fail"; log "  $fail"; continue; fi
        WALL[$c,$size]=$(printf '%s\n' "${walls[@]}" | median)
        CPU[$c,$size]=$(printf '%s\n' "${cpus[@]}" | median)
        RSS[$c,$size]=$(printf '%s\n' "${rsss[@]}" | median)
        STATUS[$c,$size]=ok
    done
done

# ---------------------------------------------------------------- report

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo
echo "## Results $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "Machine: ${cpu_model:-unknown CPU}, $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r)."
echo "Receiver: smtp-sink (Postfix $(postconf -h mail_version 2>/dev/null || echo '?')) on 127.0.0.1, same machine."
echo "Clients: smtpsh $("$SMTPSH" --version | awk '{ print $2 }'), $(curl --version | head -1 | awk '{ print $1, $2 }'), swaks $(swaks --version 2>/dev/null | head -1 | awk '{ print $3 }'), $(s-nail -V 2>/dev/null | awk '{ print $1, $2 }' | tr -d ,), Python $(python3 -c 'import sys; print(sys.version.split()[0])' 2>/dev/null)."
echo "Median of $RUNS runs ($((RUNS * 5)) for the tiny message, 1 for 1 GiB); CPU is user+sys; RSS is the peak; memory cap ${MEM_CAP_GIB} GiB per client."
echo "Every time includes starting the process: \`true\` measured the same way takes $FLOOR."
for size in "${SIZES[@]}"; do
    echo
    echo "### ${LABEL[$size]}"
    echo
    echo "| client | wall | CPU | peak RSS | wall vs smtpsh |"
    echo "|---|---:|---:|---:|---:|"
    base=${WALL[smtpsh,$size]:-}
    for c in "${CLIENTS[@]}"; do
        if [[ ${STATUS[$c,$size]} != ok ]]; then
            echo "| $c | ${STATUS[$c,$size]} | | | |"
            continue
        fi
        ratio="—"
        if [[ -n $base && $c != smtpsh ]]; then
            ratio=$(awk -v a="${WALL[$c,$size]}" -v b="$base" 'BEGIN { printf "%.2f×", a / b }')
        fi
        name=$c
        [[ $c == "curl -T" ]] && name="curl -T (prebuilt; the receiver's limit)"
        printf '| %s | %s | %s | %s | %s |\n' "$name" "$(human_wall "${WALL[$c,$size]}")" \
            "$(human_cpu "${CPU[$c,$size]}")" "$(human_rss "${RSS[$c,$size]}")" "$ratio"
    done
    if [[ -n $base && ${STATUS["curl -T",$size]} == ok ]]; then
        echo
        awk -v a="$base" -v b="${WALL["curl -T",$size]}" \
            'BEGIN { printf "smtpsh / curl -T (the receiver'"'"'s limit): %.2f×\n", a / b }'
    fi
done
echo
echo "### Encoder micro benchmark (no network)"
echo
echo '```'
"$ENCODER" 256
echo '```'
