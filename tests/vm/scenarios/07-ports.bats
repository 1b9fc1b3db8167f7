#!/usr/bin/env bats
# Scenario 7, ports: two installs without an external port get different
# allocated ports (written back into their definitions); an install asking
# for a port that is taken is refused and the first owner still serves.
load helpers

a=s7-a b=s7-b c=s7-c
DIAG_UNITS=("berth-$a.service" "berth-$b.service")

teardown_file() { forget $a $b $c; }

@test "berth CLI is installed" {
    need_berth
}

@test "install $a with an allocated port" {
    berth install $a --image localhost/nginx --port 80 --start
}

@test "install $b with an allocated port" {
    berth install $b --image localhost/nginx --port 80 --start
}

@test "allocated ports written back into the definitions" {
    local pa pb
    pa=$(external_port $a) pb=$(external_port $b)
    log "allocated: $a=$pa $b=$pb"
    [[ "$pa" =~ ^[1-9][0-9]*$ && "$pb" =~ ^[1-9][0-9]*$ ]] || fail "allocated ports not written back ($pa, $pb)"
    save port-a "$pa"
    save port-b "$pb"
}

@test "the two allocated ports differ" {
    [[ "$(saved port-a)" != "$(saved port-b)" ]] || fail "both got port $(saved port-a)"
}

@test "berth ports $a shows its allocated port" {
    expect_contains "$(saved port-a)" "$(berth ports $a)"
}

@test "$a answers on its allocated port" {
    wait_for 90 http_get "http://127.0.0.1:$(saved port-a)/"
}

@test "$b answers on its allocated port" {
    wait_for 90 http_get "http://127.0.0.1:$(saved port-b)/"
}

@test "an explicit install on $a's port is refused" {
    refute berth install $c --image localhost/nginx --port "80:$(saved port-a)" --start
}

@test "no definition stored for the refused install" {
    test ! -e "$DEFS/$c.json"
}

@test "$a still owns and serves its port" {
    http_get "http://127.0.0.1:$(saved port-a)/"
}

@test "$a's definition unchanged" {
    expect_eq "$(saved port-a)" "$(external_port $a)"
}
