# shellcheck shell=bash
# shellcheck disable=SC2034  # QUADLET_CMD/QUADLET_DESC are used by generator.sh
# Sourced by bench/generator.sh. Fetches Podman Quadlet (podman 5.x from
# Debian trixie) into a cache directory outside the repository, without
# touching the host's apt configuration or installing anything system-wide:
#
#   apt-get update/download with a temporary sources list and temporary
#   apt state/lists/cache dirs (the host's apt.conf.d -- proxies etc. -- still
#   applies, so the archive is reached the way the host reaches it), then
#   `dpkg-deb -x` into $BENCH_CACHE.
#
# If the trixie binary cannot run against the host's libc (bookworm has glibc
# 2.36), trixie's libc6 is fetched as well and quadlet is run through that
# package's dynamic loader with --library-path.
#
# Sets QUADLET_CMD (array) and QUADLET_DESC.

# The Debian mirror URI and keyring the host already uses (deb822 stanza that
# serves the "bookworm" suite from a .../debian URI), with safe fallbacks.
_bench_host_debian_source() {
  local f uri="" key="" line
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r $f ]] || continue
    uri="" key=""
    while IFS= read -r line; do
      case $line in
        URIs:*) uri=${line#URIs:}; uri=${uri# } ;;
        Signed-By:*) key=${line#Signed-By:}; key=${key# } ;;
        "") if [[ $uri == */debian && -n $key ]]; then break; fi; uri="" key="" ;;
      esac
    done <"$f"
    if [[ $uri == */debian ]]; then
      printf '%s\n%s\n' "${uri%% *}" "${key:-/usr/share/keyrings/debian-archive-keyring.gpg}"
      return 0
    fi
  done
  printf '%s\n%s\n' http://deb.debian.org/debian /usr/share/keyrings/debian-archive-keyring.gpg
}

# _bench_apt_fetch DEST PKG... : download PKGs from trixie into DEST (.deb files)
_bench_apt_fetch() {
  local dest=$1; shift
  local src uri key aptdir
  src=$(_bench_host_debian_source)
  uri=${BENCH_DEBIAN_MIRROR:-$(sed -n 1p <<<"$src")}
  key=${BENCH_DEBIAN_KEYRING:-$(sed -n 2p <<<"$src")}
  aptdir=$(mktemp -d /tmp/berth-bench-apt.XXXXXX)
  BENCH_CLEANUP+=("$aptdir")
  mkdir -p "$aptdir"/parts "$aptdir"/lists/partial "$aptdir"/cache/archives/partial "$aptdir"/state
  : >"$aptdir"/state/status
  cat >"$aptdir"/parts/trixie.sources <<EOF
Types: deb
URIs: $uri
Suites: trixie
Components: main
Architectures: amd64
Targets: Packages
Signed-By: $key
EOF
  local -a opts=(
    -o Dir::Etc::SourceList=/dev/null
    -o Dir::Etc::SourceParts="$aptdir"/parts
    -o Dir::State="$aptdir"/state
    -o Dir::State::Lists="$aptdir"/lists
    -o Dir::State::status="$aptdir"/state/status
    -o Dir::Cache="$aptdir"/cache
    -o APT::Architecture=amd64
    -o APT::Sandbox::User=root
    -o Debug::NoLocking=1
  )
  echo "bench: fetching trixie ${*} from $uri (temporary apt state in $aptdir)" >&2
  local rc=0
  if ! apt-get -q "${opts[@]}" update >&2; then
    echo "bench: apt-get update (trixie) failed" >&2; rc=1
  elif ! (cd "$dest" && apt-get -q "${opts[@]}" download "$@" >&2); then
    echo "bench: apt-get download $* failed" >&2; rc=1
  fi
  rm -rf "$aptdir"
  return $rc
}

# _bench_unpack NAME PKG : fetch PKG and `dpkg-deb -x` it into $BENCH_CACHE/NAME
_bench_unpack() {
  local name=$1 pkg=$2 tmp deb
  tmp=$(mktemp -d "$BENCH_CACHE/.dl.XXXXXX")
  BENCH_CLEANUP+=("$tmp")
  if ! _bench_apt_fetch "$tmp" "$pkg"; then rm -rf "$tmp"; return 1; fi
  deb=$(ls "$tmp"/"${pkg}"_*.deb)
  mkdir "$tmp/root"
  dpkg-deb -x "$deb" "$tmp/root"
  basename "$deb" >"$tmp/root/.deb"
  rm -rf "${BENCH_CACHE:?}/$name"
  mv "$tmp/root" "$BENCH_CACHE/$name"
  rm -rf "$tmp"
}

bench_setup_quadlet() {
  BENCH_CACHE=${BENCH_CACHE:-/var/cache/berth-bench}
  if ! mkdir -p "$BENCH_CACHE" 2>/dev/null || [[ ! -w $BENCH_CACHE ]]; then
    BENCH_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/berth-bench
    mkdir -p "$BENCH_CACHE"
  fi
  local q=$BENCH_CACHE/podman/usr/libexec/podman/quadlet
  if [[ ! -x $q ]]; then
    _bench_unpack podman podman || return 1
  fi
  [[ -x $q ]] || { echo "bench: $q missing after unpacking podman" >&2; return 1; }
  local ver
  if [[ -z ${BENCH_FORCE_TRIXIE_LOADER:-} ]] && ver=$("$q" -version 2>/dev/null); then
    QUADLET_CMD=("$q")
    QUADLET_DESC="quadlet $ver ($(cat "$BENCH_CACHE/podman/.deb"), trixie), run directly against the host libc ($(ldd --version | sed -n 1p | awk '{print $NF}'))"
    return 0
  fi
  # The binary does not run here (or BENCH_FORCE_TRIXIE_LOADER is set): say
  # why, then run it through trixie's own libc.
  if [[ -n ${BENCH_FORCE_TRIXIE_LOADER:-} ]]; then
    echo "bench: BENCH_FORCE_TRIXIE_LOADER set: running quadlet through trixie's loader" >&2
  else
    echo "bench: trixie quadlet does not run against the host libc:" >&2
    "$q" -version 2>&1 | sed 's/^/bench:   /' >&2 || true
  fi
  local lc=$BENCH_CACHE/libc6
  if [[ ! -e $lc/.deb ]]; then
    _bench_unpack libc6 libc6 || return 1
  fi
  local ld=$lc/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
  [[ -e $ld ]] || ld=$lc/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
  local libs=$lc/usr/lib/x86_64-linux-gnu:$lc/lib/x86_64-linux-gnu
  ver=$("$ld" --library-path "$libs" "$q" -version) \
    || { echo "bench: quadlet fails even with trixie's loader" >&2; return 1; }
  QUADLET_CMD=("$ld" --library-path "$libs" "$q")
  QUADLET_DESC="quadlet $ver ($(cat "$BENCH_CACHE/podman/.deb"), trixie), run through trixie's loader ($(cat "$lc/.deb")) with --library-path"
}
