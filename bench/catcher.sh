#!/usr/bin/env bash
# `smtpsh serve` as a mail catcher under load: Postfix's smtp-source sends
# the same load to `smtpsh serve` (which stores every message in a Maildir)
# and to Postfix's smtp-sink (which stores nothing: the ceiling), side by
# side in one run on loopback; with a Python aiosmtpd catcher (its Maildir
# handler) too when .venv-test has it. Wall time, messages/s, MiB/s, the
# receiver's CPU and peak RSS; then PASS/FAIL lines for the goals: every
# message stored (Maildir new/ holds as many as were sent, each whole, tmp/
# empty), smtpsh's throughput at least half of smtp-sink's, smtpsh's peak
# RSS under 32 MiB. See docs/performance.md ("Mail catcher under load").
#
# usage: bench/catcher.sh [--quick] [--runs N] [--no-python] [--keep]
#   --quick      1,000 messages of 2 KiB and 40 of 1 MiB, one run each
#                (by default 10,000 and 200, three runs, median reported)
#   --runs N     runs per receiver and load (median wall time reported)
#   --no-python  leave out the aiosmtpd catcher
#   --keep       keep the temporary directory (Maildirs, logs)
#
# The Maildirs go into a temporary directory under $TMPDIR (/tmp when
# unset): TMPDIR=/dev/shm measures without the disk.
#
# Needs: cargo, python3, and smtp-source and smtp-sink (package postfix;
# Postfix's own mail system is never started). Every smtp-source run has
# a time limit, every receiver is stopped and waited for: the script ends
# by itself. Exit status 0 when every check passes, 1 when one fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

QUICK=0 RUNS="" PYTHON=1 KEEP=0
while (($#)); do
    case $1 in
    --quick) QUICK=1 ;;
    --runs) RUNS=${2:-}; shift ;;
    --no-python) PYTHON=0 ;;
    --keep) KEEP=1 ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "bench/catcher.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if [[ -z $RUNS ]]; then
    RUNS=3
    ((QUICK)) && RUNS=1
fi
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "--runs needs a positive number" >&2; exit 2; }

log() { printf '%s\n' "$*" >&2; }

# ---------------------------------------------------------------- tools

SOURCE=$(command -v smtp-source || echo /usr/sbin/smtp-source)
SINK=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
[[ -x $SOURCE && -x $SINK ]] ||
    { log "smtp-source and smtp-sink (package postfix) are needed"; exit 1; }
command -v python3 >/dev/null || { log "python3 is needed (free ports)"; exit 1; }
command -v cargo >/dev/null || { log "cargo is needed to build smtpsh"; exit 1; }
VENV_PY=$ROOT/.venv-test/bin/python
if ((PYTHON)) && ! { [[ -x $VENV_PY ]] && "$VENV_PY" -c 'import aiosmtpd' 2>/dev/null; }; then
    log "no aiosmtpd in .venv-test: its rows are left out"
    PYTHON=0
fi

log "building smtpsh (release)"
cargo build --release --quiet --bin smtpsh
SMTPSH=${CARGO_TARGET_DIR:-$ROOT/target}/release/smtpsh
[[ -x $SMTPSH ]] || { log "$SMTPSH not found"; exit 1; }

# ---------------------------------------------------------------- set-up

# The Maildirs stay until the end (about 1.5 GiB for the full run): on
# ext4, files created right after many were deleted cost more (the inode
# allocator skips recently deleted inodes), so deleting one run's Maildir
# would slow the next run down.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smtpsh-catcher.XXXXXX")
chmod 755 "$WORK" # smtp-sink runs as nobody when we are root
# A copy, so every run measures the same binary even if target/ is
# rebuilt meanwhile.
cp "$SMTPSH" "$WORK/smtpsh"
SMTPSH=$WORK/smtpsh
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
RPID="" # the receiver running now
stop_receiver() { # -> sets STOP_RC (the receiver's exit status, or "killed")
    STOP_RC=""
    [[ -n $RPID ]] || return 0
    kill -TERM "$RPID" 2>/dev/null || true
    for _ in $(seq 300); do
        kill -0 "$RPID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$RPID" 2>/dev/null; then
        kill -KILL "$RPID" 2>/dev/null || true
        STOP_RC=killed
    fi
    local rc=0
    wait "$RPID" 2>/dev/null || rc=$?
    [[ -n $STOP_RC ]] || STOP_RC=$rc
    RPID=""
}
cleanup() {
    stop_receiver
    if ((KEEP)); then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until something listens on 127.0.0.1:PORT (read from /proc, so no
# probe connection reaches the receiver and counts as a session).
wait_listening() { # PORT
    local hex
    hex=$(printf '0100007F:%04X 00000000:0000 0A' "$1")
    for _ in $(seq 100); do
        grep -q "$hex" /proc/net/tcp && return 0
        kill -0 "$RPID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# Peak RSS (KiB) and CPU seconds (user+sys, all threads) of a live process.
peak_rss() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
cpu_secs() {
    local ticks
    ticks=$(getconf CLK_TCK)
    sed 's/^.*) //' "/proc/$1/stat" | awk -v t="$ticks" '{ printf "%.2f", ($12 + $13) / t }'
}

# Messages smtp-sink has received so far (its -c counter line).
sink_count() {
    tr '\r' '\n' <"$1" | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -1 | grep . || echo 0
}
files_in() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l; }

RECEIVERS=(sink smtpsh)
((PYTHON)) && RECEIVERS+=(python)
declare -A NAME=([sink]="smtp-sink (stores nothing)" [smtpsh]="smtpsh serve" [python]="aiosmtpd (Python, Maildir)")

start_receiver() { # RECEIVER DIR PORT -> sets RPID
    local r=$1 dir=$2 port=$3
    mkdir -p "$dir"
    case $r in
    sink)
        local args=(-c -a -C)
        [[ $(id -u) -eq 0 ]] && args+=(-u nobody)
        "$SINK" "${args[@]}" "127.0.0.1:$port" 1000 >"$dir/out.log" 2>"$dir/err.log" &
        ;;
    smtpsh)
        # Its own home: the CA and certificate serve makes go here, not
        # into the user's state.
        mkdir -p "$dir/home"
        env HOME="$dir/home" XDG_DATA_HOME="$dir/home/data" XDG_STATE_HOME="$dir/home/state" \
            XDG_CONFIG_HOME="$dir/home/config" XDG_CACHE_HOME="$dir/home/cache" \
            SMTPSH_SANDBOX_DIR="$dir/home/sandbox" \
            "$SMTPSH" serve --listen "127.0.0.1:$port" --maildir "$dir/Maildir" \
            >"$dir/out.log" 2>"$dir/err.log" &
        ;;
    python)
        "$VENV_PY" -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Mailbox "$dir/Maildir" \
            >"$dir/out.log" 2>"$dir/err.log" &
        ;;
    esac
    RPID=$!
}

# ---------------------------------------------------------------- loads

LOADS=(small large)
declare -A COUNT=([small]=10000 [large]=200)
((QUICK)) && COUNT=([small]=1000 [large]=40)
declare -A SIZE=([small]=2048 [large]=1048576)
declare -A LIMIT=([small]=300 [large]=300)
SESSIONS=20
declare -A SHORT=([small]="2 KiB" [large]="1 MiB")
label() { # LOAD
    echo "$(sed ':a; s/\B[0-9]\{3\}\>/,&/; ta' <<<"${COUNT[$1]}") messages of ${SHORT[$1]}"
}

# One run: sets RES to "WALL CPU RSS STORED NOTE" (NOTE empty when all is
# well) or "FAIL reason". Not in a subshell, so the EXIT trap knows the
# receiver (RPID) and stops it if the script is interrupted.
run_once() { # RECEIVER LOAD INDEX
    local r=$1 load=$2 dir="$WORK/$1-$2-$3" n=${COUNT[$2]} port
    port=$(free_port)
    start_receiver "$r" "$dir" "$port"
    if ! wait_listening "$port"; then
        RES="FAIL did not start: $(tail -1 "$dir/err.log" 2>/dev/null)"
        stop_receiver
        return
    fi
    local t0 t1 rc=0
    t0=$(date +%s%N)
    timeout -k 5 "${LIMIT[$load]}" "$SOURCE" -s "$SESSIONS" -m "$n" -l "${SIZE[$load]}" \
        -f sender@example.com -t rcpt@example.com -M localhost "127.0.0.1:$port" \
        >"$dir/source.out" 2>"$dir/source.err" || rc=$?
    t1=$(date +%s%N)
    local wall
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')

    # Every message is counted where the receiver keeps it; smtp-source
    # has its 250 for each, so they are all there (a short grace for
    # smtp-sink's counter line).
    local stored=0 note=""
    for _ in $(seq 50); do
        case $r in
        sink) stored=$(sink_count "$dir/out.log") ;;
        *) stored=$(files_in "$dir/Maildir/new") ;;
        esac
        ((stored >= n)) && break
        sleep 0.1
    done
    local cpu rss
    cpu=$(cpu_secs "$RPID" 2>/dev/null || echo 0)
    rss=$(peak_rss "$RPID" 2>/dev/null || echo 0)
    stop_receiver
    if [[ $r != sink ]]; then
        local left short
        left=$(files_in "$dir/Maildir/tmp")
        # Each stored file holds at least the payload smtp-source sent
        # (lines of 78 characters and CRLF; Python's Maildir stores LF).
        short=$(find "$dir/Maildir/new" -maxdepth 1 -type f -size "-$((SIZE[$load] * 79 / 80))c" | wc -l)
        ((left == 0)) || note+="${note:+; }$left left in tmp/"
        ((short == 0)) || note+="${note:+; }$short shorter than the payload"
    fi
    if [[ $r == smtpsh && $STOP_RC != 0 ]]; then
        note+="${note:+; }exit $STOP_RC on SIGTERM"
    fi
    if [[ $rc == 124 || $rc == 137 ]]; then
        RES="FAIL smtp-source timed out after ${LIMIT[$load]} s ($stored stored)"
        return
    fi
    if [[ $rc != 0 ]]; then
        RES="FAIL smtp-source exit $rc: $(tail -1 "$dir/source.err") ($stored stored)"
        return
    fi
    RES="$wall $cpu $rss $stored $note"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maximum() { sort -g | tail -1; }

declare -A WALL CPU RSS STORED STATUS NOTES
for load in "${LOADS[@]}"; do
    declare -A walls=() cpus=() rsss=() stores=()
    for i in $(seq "$RUNS"); do
        # Receivers take turns within each run, so noise on the machine
        # spreads over all of them.
        for r in "${RECEIVERS[@]}"; do
            [[ ${STATUS[$r,$load]:-} == failed* ]] && continue
            log "$(label "$load"), run $i/$RUNS: ${NAME[$r]}"
            run_once "$r" "$load" "$i"
            res=$RES
            if [[ $res == FAIL* ]]; then
                STATUS[$r,$load]="failed: ${res#FAIL }"
                log "  ${res#FAIL }"
                continue
            fi
            read -r w u m s note <<<"$res"
            log "  $w s, $s stored, CPU $u s, peak RSS $m KiB${note:+ ($note)}"
            walls[$r]+="$w " cpus[$r]+="$u " rsss[$r]+="$m " stores[$r]+="$s "
            [[ -n $note ]] && NOTES[$r,$load]+="${NOTES[$r,$load]:+; }run $i: $note"
        done
    done
    for r in "${RECEIVERS[@]}"; do
        [[ ${STATUS[$r,$load]:-} == failed* ]] && continue
        WALL[$r,$load]=$(tr ' ' '\n' <<<"${walls[$r]}" | grep . | median)
        CPU[$r,$load]=$(tr ' ' '\n' <<<"${cpus[$r]}" | grep . | median)
        RSS[$r,$load]=$(tr ' ' '\n' <<<"${rsss[$r]}" | grep . | maximum)
        # The fewest stored in any run (every run must have all).
        STORED[$r,$load]=$(tr ' ' '\n' <<<"${stores[$r]}" | grep . | sort -g | head -1)
        STATUS[$r,$load]=ok
    done
    unset walls cpus rsss stores
done

# ---------------------------------------------------------------- report

human_rss() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
rate() { awk -v n="$1" -v w="$2" 'BEGIN { printf "%.0f", n / w }'; }
mibps() { awk -v n="$1" -v b="$2" -v w="$3" 'BEGIN { printf "%.1f", n * b / 1048576 / w }'; }

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo
echo "## Results $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "Machine: ${cpu_model:-unknown CPU}, $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r); Maildirs on $(df -PT "$WORK" | awk 'NR == 2 { print $1 " (" $2 ")" }')."
echo "Sender: smtp-source (Postfix $(postconf -h mail_version 2>/dev/null || echo '?')), $SESSIONS parallel sessions, one connection per message, on 127.0.0.1."
echo "Receivers: smtpsh $("$SMTPSH" --version | awk '{ print $2 }') serve; smtp-sink (same Postfix)$( ((PYTHON)) && echo "; aiosmtpd $("$VENV_PY" -c 'import aiosmtpd; print(aiosmtpd.__version__)') on Python $("$VENV_PY" -c 'import sys; print(sys.version.split()[0])') with its Mailbox (Maildir) handler")."
echo "Load average (1, 5, 15 min) at the start: $LOAD_BEFORE; at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
echo "Median wall time of $RUNS run$( ((RUNS > 1)) && echo s) per receiver and load; MiB/s counts the payload (smtp-source's -l bytes); CPU is the receiver's user+sys (median); peak RSS is the receiver's VmHWM (the highest of the runs)."
for load in "${LOADS[@]}"; do
    echo
    echo "### $(label "$load"), $SESSIONS sessions"
    echo
    echo "| receiver | stored | wall | messages/s | MiB/s | CPU | peak RSS | throughput vs smtp-sink |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    base=${WALL[sink,$load]:-}
    for r in "${RECEIVERS[@]}"; do
        if [[ ${STATUS[$r,$load]} != ok ]]; then
            echo "| ${NAME[$r]} | ${STATUS[$r,$load]} | | | | | | |"
            continue
        fi
        n=${COUNT[$load]} w=${WALL[$r,$load]}
        ratio="—"
        [[ -n $base && $r != sink ]] && ratio=$(awk -v a="$base" -v b="$w" 'BEGIN { printf "%.2f×", a / b }')
        stored="${STORED[$r,$load]}/$n"
        [[ $r == sink ]] && stored="$stored (counted)"
        printf '| %s | %s | %.2f s | %s | %s | %.2f s | %s | %s |\n' "${NAME[$r]}" "$stored" "$w" \
            "$(rate "$n" "$w")" "$(mibps "$n" "${SIZE[$load]}" "$w")" "${CPU[$r,$load]}" \
            "$(human_rss "${RSS[$r,$load]}")" "$ratio"
    done
    for r in "${RECEIVERS[@]}"; do
        [[ -n ${NOTES[$r,$load]:-} ]] && echo && echo "${NAME[$r]}: ${NOTES[$r,$load]}"
    done
done

# ---------------------------------------------------------------- checks

echo
echo "### Checks"
echo
FAILED=0
check() { # OK TEXT
    if (($1)); then echo "PASS $2"; else echo "FAIL $2"; FAILED=1; fi
}
stored_ok=1 ratio_ok=1 rss_ok=1 stop_ok=1
stored_txt=() ratio_txt=() rss_txt=()
for load in "${LOADS[@]}"; do
    n=${COUNT[$load]}
    if [[ ${STATUS[smtpsh,$load]} != ok ]]; then
        stored_ok=0 ratio_ok=0 rss_ok=0
        stored_txt+=("$(label "$load"): ${STATUS[smtpsh,$load]}")
        continue
    fi
    notes=${NOTES[smtpsh,$load]:-} stored=${STORED[smtpsh,$load]} rss=${RSS[smtpsh,$load]}
    ((stored == n)) || stored_ok=0
    [[ $notes == *tmp/* || $notes == *shorter* ]] && stored_ok=0
    [[ $notes == *SIGTERM* ]] && stop_ok=0
    stored_txt+=("$stored/$n (${SHORT[$load]})")
    if [[ ${STATUS[sink,$load]} == ok ]]; then
        q=$(awk -v a="${WALL[sink,$load]}" -v b="${WALL[smtpsh,$load]}" 'BEGIN { printf "%.2f", a / b }')
        # Judged unrounded: 0.497 shows as 0.50 but fails.
        awk -v a="${WALL[sink,$load]}" -v b="${WALL[smtpsh,$load]}" 'BEGIN { exit !(a / b >= 0.5) }' || ratio_ok=0
        ratio_txt+=("${q}x (${SHORT[$load]})")
    else
        ratio_ok=0
        ratio_txt+=("smtp-sink ${STATUS[sink,$load]}")
    fi
    ((rss < 32 * 1024)) || rss_ok=0
    rss_txt+=("$(human_rss "$rss") (${SHORT[$load]})")
done
join() { local out="" x; for x; do out+="${out:+, }$x"; done; echo "${out:-not measured}"; }
check "$stored_ok" "every message stored by smtpsh serve, whole, tmp/ empty (fewest in any run): $(join "${stored_txt[@]}")"
check "$ratio_ok" "smtpsh serve's throughput >= 0.5x smtp-sink's (median wall): $(join "${ratio_txt[@]}")"
check "$rss_ok" "smtpsh serve's peak RSS < 32 MiB: $(join "${rss_txt[@]}")"
check "$stop_ok" "smtpsh serve exits 0 on SIGTERM after every run"
exit "$FAILED"
