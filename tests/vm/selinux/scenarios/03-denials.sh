#!/bin/bash
# Scenario 3: berth's own programs ran without denials during the whole boot
# (permissive and enforcing phases): no AVC whose source is berth_generator_t
# or berth_proxy_t, and no denial of the container runtime. Prints every
# AVC of the boot, grouped, for the record.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
all=$(avcs_since 0 | grep denied || true)
log "$(grep -c . <<<"$all" || true) AVC denial record(s) this boot, grouped:"
sed -E 's/.*denied +\{ ([^}]*)\}.*comm="?([^" ]*)"? .*scontext=([^ ]*) tcontext=([^ ]*) tclass=([^ ]*).*/\3 \4 \5 {\1} \2/' <<<"$all" |
    sort | uniq -c | sort -rn | sed 's/^/#   /'
own=$(grep -E 'scontext=[^ ]*:(berth_generator_t|berth_proxy_t):' <<<"$all" || true)
[[ -z "$own" ]] || { printf '%s\n' "$own" | head -n 20 | sed 's/^/  | /'; fail "berth's programs were denied"; }
ok "no denials for berth_generator_t or berth_proxy_t"
rt=$(grep -E 'scontext=[^ ]*:container_runtime_t:' <<<"$all" || true)
[[ -z "$rt" ]] || { printf '%s\n' "$rt" | head -n 20 | sed 's/^/  | /'; fail "the container runtime was denied"; }
ok "no denials for container_runtime_t"
