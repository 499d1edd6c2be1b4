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

# $1 timeout, $2 nonce, $3 how many curls at once, then id url option value ...; option "-"
# means none, "handshake" a TLS check without a host name: curl -k, printing the certificates
# the server sent (curl's %{certs}, 7.88+) so that the row can say whom it reached. Checks run side by side through a pool of slots (a FIFO holding one token per
# free slot), each into its own file, printed when all are done. Checks of non-HTTP URLs from a
# pod with a sidecar run afterwards one at a time, each between two readings of the sidecar's
# metrics, which other traffic would blur; HTTP answers carry the sidecar's headers instead.
SCRIPT = r'''
timeout=$1; nonce=$2; parallel=$3; shift 3
dir=$(mktemp -d 2>/dev/null) || { dir="/tmp/kubectl-egress.$$"; mkdir -p "$dir" || exit 1; }
trap 'rm -rf "$dir"' EXIT
admin=0
if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:15000/ready" 2>/dev/null; then admin=1; fi
if [ "$parallel" -gt 1 ] && mkfifo "$dir/slots" 2>/dev/null && exec 3<>"$dir/slots"; then
  i=0; while [ "$i" -lt "$parallel" ]; do echo >&3; i=$((i + 1)); done
else
  parallel=1
fi
stats() {
  echo "@@$nonce stats $1"
  curl -s --max-time 2 "http://127.0.0.1:15000/stats?filter=istio_" 2>/dev/null
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
  rm -f "$dir/$1.body" "$dir/$1.err"
}
# first pass: every check that needs no metrics, side by side
n=0; outputs=""
for arg in "$@"; do
  case $n in
    0) id=$arg ;; 1) url=$arg ;; 2) opt=$arg ;;
    3) case "$admin:$url" in
         1:http://*|0:*)
           if [ "$parallel" = 1 ]; then
             check "$id" "$url" "$opt" "$arg"
           else
             read -r _ <&3
             { check "$id" "$url" "$opt" "$arg" > "$dir/$id.out" 2>&1; echo >&3; } &
             outputs="$outputs $dir/$id.out"
           fi ;;
       esac ;;
  esac
  n=$(( (n + 1) % 4 ))
done
wait
if [ -n "$outputs" ]; then cat $outputs; fi
# second pass, through the sidecar only: the others, one at a time between metric readings
[ "$admin" = 1 ] || exit 0
n=0
for arg in "$@"; do
  case $n in
    0) id=$arg ;; 1) url=$arg ;; 2) opt=$arg ;;
    3) case "$url" in
         http://*) ;;
         *) stats "before $id"; check "$id" "$url" "$opt" "$arg"; stats "after $id" ;;
       esac ;;
  esac
  n=$(( (n + 1) % 4 ))
done
'''.replace("@BODY_LIMIT@", str(BODY_LIMIT)).replace("@ERROR_LIMIT@", str(ERROR_LIMIT))



def command(checks: list[Check], timeout: float, nonce: str, parallel: int = PARALLEL) -> list[str]:
    """The exec argv: sh -c SCRIPT, with every target as positional arguments."""
    args = ["sh", "-c", SCRIPT, "kubectl-egress-probe", f"{timeout:g}", nonce, str(parallel)]
    for check in checks:
        args.extend(check.args())
    return args
