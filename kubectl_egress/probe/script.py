"""The shell script one exec runs in a source pod, and its argv.

One exec per source pod runs every check: a POSIX sh script over its
positional arguments, four per check (id, URL, curl option, its value).
Target text only ever travels as arguments, never inside the script, so a
host name that would break a shell does no harm. The curls run several at a
time (--parallel), since a probe's time is mostly waiting on the network. For
each check the script prints curl's headers, status line data, exit code and
error, and the start of the body, between markers that carry a random nonce;
in a pod with a sidecar it also reads the sidecar's Istio metrics (Envoy
admin, always on 127.0.0.1:15000 in the pod) before and after each non-HTTP
check, one at a time, so that even TLS traffic, which carries no sidecar
headers, shows whether istio-proxy carried it.
"""
from __future__ import annotations

from .checks import Check

BODY_LIMIT = 16384  # bytes of each answer's body the script prints
ERROR_LIMIT = 2048  # bytes of curl's error text
PARALLEL = 8  # curls at once in one source pod
MAX_PARALLEL = 64

# $1 timeout, $2 nonce, $3 how many curls at once, $4 1 to watch stdin for a stop, then id url option
# value ...; option "-" means none, "handshake" a TLS check without a host name: curl -k, printing
# the certificates the server sent (curl's %{certs}, 7.88+) so that the row can say whom it reached.
# Checks run side by side through a pool of slots (a FIFO holding one token per free slot), each into
# its own file, printed as soon as it is done under a lock (a FIFO holding one token), then a `done`
# line: the client counts and reads them as they come. Checks of non-HTTP URLs from a pod with a
# sidecar run afterwards one at a time, each between two readings of the sidecar's metrics, which
# other traffic would blur; HTTP answers carry the sidecar's headers instead.
#
# Stopping (with $4 = 1, the exec opened with stdin): a line on stdin asks to stop, and the end of
# stdin means the client is gone. Neither ends the probe by itself: closing an exec stream does not
# end the process on a real node (containerd's execInContainer waits for its exit; kubernetes#89031),
# and a shell that is killed leaves its curls running. So a watcher reads stdin, and on either kills
# every process of this probe: those whose command line holds the nonce (the shells carry the
# script's arguments; every curl carries it in -w or a header). Its pattern is written so that it
# does not match itself ([x] for the last character), so grep does not list its own process.
SCRIPT = r"""
timeout=$1; nonce=$2; parallel=$3; watch=$4; shift 4
dir=$(mktemp -d 2>/dev/null) || { dir="/tmp/kubectl-egress.$$"; mkdir -p "$dir" || exit 1; }
watcher=""
trap '[ -z "$watcher" ] || kill "$watcher" 2>/dev/null; rm -rf "$dir"' EXIT
stop() {
  read -r me _ < /proc/self/stat
  pattern="${nonce%?}[${nonce#"${nonce%?}"}]"
  round=0
  while [ "$round" -lt 20 ]; do
    found=""
    for f in $(grep -l -e "$pattern" /proc/[0-9]*/cmdline 2>/dev/null); do
      p=${f#/proc/}; p=${p%/cmdline}
      [ "$p" = "$me" ] || found="$found $p"
    done
    [ -n "$found" ] || break
    kill -9 $found 2>/dev/null
    round=$((round + 1))
  done
  rm -rf "$dir"
}
if [ "$watch" = 1 ]; then
  exec 4<&0
  { read -r _; [ -d "$dir" ] && stop; } <&4 >/dev/null 2>&1 &
  watcher=$!
  exec 4<&- </dev/null
fi
admin=0
if curl -s -o /dev/null --max-time 2 -H "x-kubectl-egress-probe: $nonce" "http://127.0.0.1:15000/ready" 2>/dev/null; then admin=1; fi
if [ "$parallel" -gt 1 ] && mkfifo "$dir/slots" "$dir/lock" 2>/dev/null && exec 3<>"$dir/slots" 5<>"$dir/lock"; then
  i=0; while [ "$i" -lt "$parallel" ]; do echo >&3; i=$((i + 1)); done
  echo >&5
else
  parallel=1
fi
stats() {
  echo "@@$nonce stats $1"
  curl -s --max-time 2 -H "x-kubectl-egress-probe: $nonce" "http://127.0.0.1:15000/stats?filter=istio_" 2>/dev/null
}
check() {
  echo "@@$nonce begin $1"
  w="\n@@$nonce result $1 %{http_code} %{time_total} %{remote_ip} %{remote_port}\n"
  case "$3" in
    -) curl -sS -D - -o "$dir/$1.body" --max-time "$timeout" -w "$w" "$2" 2>"$dir/$1.err" ;;
    handshake) curl -sS -k -D - -o "$dir/$1.body" --max-time "$timeout" -w "$w@@$nonce certs $1\n%{certs}" "$2" 2>"$dir/$1.err" ;;
    *) curl -sS -D - -o "$dir/$1.body" --max-time "$timeout" "$3" "$4" -w "$w" "$2" 2>"$dir/$1.err" ;;
  esac
  echo "@@$nonce exit $1 $?"
  echo "@@$nonce error $1"
  if [ -s "$dir/$1.err" ]; then head -c @ERROR_LIMIT@ "$dir/$1.err"; fi
  echo "@@$nonce body $1"
  if [ -s "$dir/$1.body" ]; then head -c @BODY_LIMIT@ "$dir/$1.body"; fi
  echo
  echo "@@$nonce end $1"
}
# first pass: every check that needs no metrics, side by side, each printed when done
n=0; jobs=""
for arg in "$@"; do
  case $n in
    0) id=$arg ;; 1) url=$arg ;; 2) opt=$arg ;;
    3) case "$admin:$url" in
         1:http://*|0:*)
           if [ "$parallel" = 1 ]; then
             check "$id" "$url" "$opt" "$arg"
             echo "@@$nonce done $id"
             rm -f "$dir/$id.body" "$dir/$id.err"
           else
             read -r _ <&3
             { check "$id" "$url" "$opt" "$arg" > "$dir/$id.out" 2>&1
               read -r _ <&5; cat "$dir/$id.out"; echo "@@$nonce done $id"; echo >&5
               rm -f "$dir/$id.out" "$dir/$id.body" "$dir/$id.err"; echo >&3; } &
             jobs="$jobs $!"
           fi ;;
       esac ;;
  esac
  n=$(( (n + 1) % 4 ))
done
[ -z "$jobs" ] || wait $jobs
# second pass, through the sidecar only: the others, one at a time between metric readings
[ "$admin" = 1 ] || exit 0
n=0
for arg in "$@"; do
  case $n in
    0) id=$arg ;; 1) url=$arg ;; 2) opt=$arg ;;
    3) case "$url" in
         http://*) ;;
         *) stats "before $id"; check "$id" "$url" "$opt" "$arg"; stats "after $id"; echo "@@$nonce done $id"
            rm -f "$dir/$id.body" "$dir/$id.err" ;;
       esac ;;
  esac
  n=$(( (n + 1) % 4 ))
done
""".replace("@BODY_LIMIT@", str(BODY_LIMIT)).replace("@ERROR_LIMIT@", str(ERROR_LIMIT))


def command(checks: list[Check], timeout: float, nonce: str, parallel: int = PARALLEL,
            watch: bool = False) -> list[str]:
    """The exec argv: sh -c SCRIPT, with every target as positional arguments. watch: the exec's
    stdin is open, and a line on it (or its end) stops the probe and every process it started."""
    args = ["sh", "-c", SCRIPT, "kubectl-egress-probe", f"{timeout:g}", nonce, str(parallel),
            "1" if watch else "0"]
    for check in checks:
        args.extend(check.args())
    return args
