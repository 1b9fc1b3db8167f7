#!/bin/sh
# CGI of localhost/busybox-kv (issue 10): GET ?put=WORD stores WORD in
# /data/value (the image's VOLUME), any other GET prints what is stored.
printf 'Content-Type: text/plain\r\n\r\n'
case "$QUERY_STRING" in
put=*) printf '%s\n' "${QUERY_STRING#put=}" >/data/value && echo stored ;;
*) cat /data/value 2>/dev/null || echo empty ;;
esac
