# Shared by 11-volumes.bats and 11-volumes.after-reboot.bats (the two
# halves of scenario 11 around the reboot): the container, its URL and the
# waits both halves use.

ID=s11-kv
PORT=18411
URL=http://127.0.0.1:$PORT/cgi-bin/kv
VOL=berth-$ID-1

# wait_until SECONDS CMD…: retries CMD once a second.
wait_until() {
    local n=$1; shift
    for _ in $(seq "$n"); do "$@" && return 0; sleep 1; done
    "$@"
}
stored_is() { [ "$(curl -fsS --max-time 5 "$URL")" = "$1" ]; }
# Stopped, not merely "not active": ExecStopPost (podman rm) runs while the
# unit is deactivating. busybox httpd as PID 1 ignores SIGTERM, so podman
# stop kills it after the stop timeout and the unit may end "failed".
service_inactive() {
    case "$(systemctl show -P ActiveState "berth-$ID.service")" in inactive | failed) ;; *) return 1 ;; esac
}
