#!/usr/bin/env bats
# Scenario 22, definition drop-ins: a vendor definition in
# /usr/lib/berth/containers and an administrator's drop-in in
# /etc/berth/containers/<id>.json.d/ that changes one environment value.
# After daemon-reload and start, the container sees the new value and the
# others unchanged; the unit and `berth inspect` name both files; berth
# never writes the drop-in or bakes it into a definition; removing the
# drop-in gives the vendor's value back.
load helpers

ID=s22-web
VENDOR_DIR=/usr/lib/berth/containers
VENDOR=$VENDOR_DIR/$ID.json
DROPIN_DIR=$DEFS/$ID.json.d
DROPIN=$DROPIN_DIR/50-debug.json
DIAG_UNITS=("berth-$ID.service")

teardown_file() {
    systemctl stop "berth-$ID.service" >/dev/null 2>&1 || true
    rm -rf "$VENDOR" "$DROPIN_DIR" "$DEFS/$ID.json"
    systemctl daemon-reload || true
}

# env_of NAME — the variable as the running container sees it.
# (busybox's `env`: the image has no printenv.)
env_of() { podman exec "berth-$ID" env | sed -n "s/^$1=//p"; }
# log_level_is VALUE
log_level_is() { [[ "$(env_of LOG_LEVEL 2>/dev/null)" == "$1" ]]; }

@test "berth-generator and berth are installed" {
    need_generator
    need_berth
}

@test "a vendor definition in /usr/lib and a drop-in in /etc changing one value" {
    mkdir -p "$VENDOR_DIR" "$DROPIN_DIR"
    cat >"$VENDOR" <<'JSON'
{
  "Image": "localhost/busybox",
  "Cmd": ["sleep", "100000"],
  "StopTimeout": 2,
  "Environment": {"Variables": [
    {"Name": "GREETING", "Value": "hello"},
    {"Name": "LOG_LEVEL", "Value": "info"},
    {"Name": "COLOR", "Value": "blue"}
  ]}
}
JSON
    # An array is replaced whole (JSON Merge Patch): the list is restated.
    cat >"$DROPIN" <<'JSON'
{"Environment": {"Variables": [
  {"Name": "GREETING", "Value": "hello"},
  {"Name": "LOG_LEVEL", "Value": "debug"},
  {"Name": "COLOR", "Value": "blue"}
]}}
JSON
    cp "$VENDOR" "$BATS_FILE_TMPDIR/vendor"
    cp "$DROPIN" "$BATS_FILE_TMPDIR/dropin"
    systemctl daemon-reload
}

@test "the unit names the vendor file as SourcePath and the drop-in in its header" {
    local unit
    unit=$(systemctl cat "berth-$ID.service")
    expect_contains "SourcePath=$VENDOR" "$unit"
    expect_contains "# DropIn: $DROPIN" "$unit"
    expect_eq "$VENDOR" "$(systemctl show -P SourcePath "berth-$ID.service")"
}

@test "the container starts" {
    systemctl start "berth-$ID.service"
    wait_for 90 container_running "berth-$ID"
}

@test "the container sees the drop-in's value" {
    expect_eq debug "$(env_of LOG_LEVEL)"
}

@test "the container sees the other values unchanged" {
    expect_eq hello "$(env_of GREETING)"
    expect_eq blue "$(env_of COLOR)"
}

@test "berth inspect --json shows SourcePath and DropInPaths" {
    local out
    out=$(berth inspect "$ID" --json)
    expect_eq "$VENDOR" "$(jq -r .SourcePath <<<"$out")"
    expect_eq "[\"$DROPIN\"]" "$(jq -c .DropInPaths <<<"$out")"
}

@test "berth env on a variable the drop-in sets is refused, naming it, and writes nothing" {
    run berth env "$ID" LOG_LEVEL=trace
    log "berth env: status $status: $output"
    expect_eq 2 "$status"
    expect_contains "$DROPIN" "$output"
    [[ ! -e "$DEFS/$ID.json" ]] || fail "a definition was written to $DEFS"
    cmp "$BATS_FILE_TMPDIR/vendor" "$VENDOR"
    cmp "$BATS_FILE_TMPDIR/dropin" "$DROPIN"
}

@test "without the drop-in the vendor's value is back" {
    rm -rf "$DROPIN_DIR"
    systemctl daemon-reload
    systemctl restart "berth-$ID.service"
    wait_for 90 container_running "berth-$ID"
    wait_for 30 log_level_is info
    expect_eq hello "$(env_of GREETING)"
}
