# A private apt state for fetching Debian packages by exact version without touching this machine's apt
# configuration (sourced by scripts/tools/vm-*.sh after lib/common.bash).
#   kdrop_apt_init DIR SUITE...   makes DIR/{etc,state,cache} with a sources list of the given suites (main only,
#                                 signed by the Debian archive keyring), and runs `apt-get update` there.
#                                 KDROP_APT_ARCH (default amd64) is the packages' architecture (arm64: another
#                                 architecture's packages, never this machine's dpkg architecture list);
#                                 KDROP_APT_STATUS (default this machine's dpkg status) what counts as installed
#                                 (/dev/null: nothing, so a download takes every dependency).
#                                 apt reads only DIR's configuration (APT_CONFIG names DIR/apt.conf, whose
#                                 Dir::Etc::parts is DIR's own), so /etc/apt/apt.conf.d plays no part.
#   kdrop_apt ARGS...             apt-get with that state (after kdrop_apt_init)
#   kdrop_apt_cache ARGS...       apt-cache with that state
# Suites named *-security come from the security archive, the others from deb.debian.org/debian.
KDROP_DEBIAN_MIRROR="${KDROP_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
KDROP_DEBIAN_SECURITY_MIRROR="${KDROP_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

kdrop_apt_init() {
  local dir="$1" suite uri
  shift
  set -- $(printf '%s\n' "$@" | sort -u)
  mkdir -p "$dir/etc/apt.conf.d" "$dir/etc/preferences.d" "$dir/etc/sources.list.d" "$dir/state/lists/partial" \
    "$dir/cache/archives/partial"
  : > "$dir/etc/sources.list"
  for suite in "$@"; do
    uri="$KDROP_DEBIAN_MIRROR"
    [[ "$suite" == *-security ]] && uri="$KDROP_DEBIAN_SECURITY_MIRROR"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main" >> "$dir/etc/sources.list"
  done
  cat > "$dir/apt.conf" <<CONF
Dir::Etc "$dir/etc";
Dir::Etc::main "apt.conf";
Dir::Etc::parts "apt.conf.d";
Dir::Etc::sourcelist "sources.list";
Dir::Etc::sourceparts "sources.list.d";
Dir::Etc::preferences "preferences";
Dir::Etc::preferencesparts "preferences.d";
Dir::State "$dir/state";
Dir::State::status "${KDROP_APT_STATUS:-/var/lib/dpkg/status}";
Dir::Cache "$dir/cache";
APT::Architecture "${KDROP_APT_ARCH:-amd64}";
APT::Architectures { "${KDROP_APT_ARCH:-amd64}"; };
Acquire::Languages "none";
Acquire::Retries "3";
Acquire::http::Timeout "30";
Debug::NoLocking "true";
APT::Sandbox::User "root";
CONF
  : > "$dir/etc/apt.conf"
  KDROP_APT_DIR="$dir"
  kdrop_apt update -qq >&2
}

kdrop_apt() { APT_CONFIG="$KDROP_APT_DIR/apt.conf" apt-get "$@"; }
kdrop_apt_cache() { APT_CONFIG="$KDROP_APT_DIR/apt.conf" apt-cache "$@"; }

# kdrop_apt_download SUITE:PKG=VERSION DEST_DIR: the .deb of that exact version into DEST_DIR; prints its path.
kdrop_apt_download() {
  local spec="$1" dest="$2" pv deb
  pv="${spec#*:}"
  mkdir -p "$dest"
  ( cd "$dest" && kdrop_apt download -qq "$pv" >&2 ) || {
    echo "cannot download ${pv} from ${spec%%:*} (private apt state in ${KDROP_APT_DIR}; is the pin in scripts/tools/versions.env still published? apt-cache madison ${pv%%=*} lists what is)" >&2
    return 1
  }
  deb="$(ls "$dest"/"${pv%%=*}"_*.deb 2>/dev/null | head -n1)"
  [[ -n "$deb" ]] || { echo "apt-get download of ${pv} left no .deb in ${dest}" >&2; return 1; }
  echo "$deb"
}
