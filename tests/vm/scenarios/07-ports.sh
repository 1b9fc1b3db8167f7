#!/bin/bash
# Scenario 7, ports: two installs without an external port get different
# allocated ports (written back into their definitions); an install asking
# for a port that is taken is refused and the first owner still serves.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_berth
a=s7-a b=s7-b c=s7-c
trap 'forget $a $b $c' EXIT
DIAG_UNITS=("berth-$a.service" "berth-$b.service")
check "install $a with an allocated port" berth install $a --image localhost/nginx --port 80 --start
check "install $b with an allocated port" berth install $b --image localhost/nginx --port 80 --start
pa=$(external_port $a)
pb=$(external_port $b)
log "allocated: $a=$pa $b=$pb"
[[ "$pa" =~ ^[1-9][0-9]*$ && "$pb" =~ ^[1-9][0-9]*$ ]] || fail "allocated ports not written back ($pa, $pb)"
ok "allocated ports written back into the definitions"
[[ "$pa" != "$pb" ]] || fail "both got port $pa"
ok "the two allocated ports differ"
expect_contains "berth ports $a shows $pa" "$pa" "$(berth ports $a)"
wait_for 90 "$a answers on $pa" http_get "http://127.0.0.1:$pa/"
wait_for 90 "$b answers on $pb" http_get "http://127.0.0.1:$pb/"
refute "an explicit install on $a's port is refused" berth install $c --image localhost/nginx --port "80:$pa" --start
check "no definition stored for the refused install" test ! -e "$DEFS/$c.json"
check "$a still owns and serves $pa" http_get "http://127.0.0.1:$pa/"
expect_eq "$a's definition unchanged" "$pa" "$(external_port $a)"
