# Helpers shared by scripts/test and scripts/demo: install and start only what is missing.
# Sourced, not executed.

step() { printf '\n==> %s\n' "$*" >&2; }

# The whole suite's build takes about 5 GB under target/ (docs/benchmarks.md). A disk that
# fills while linking makes the linker die with "Bus error", which reads like a compiler
# bug; say what is wrong before starting instead.
check_disk_space() {
    local need_kib=$((6 * 1024 * 1024))
    local dir="${CARGO_TARGET_DIR:-target}"
    mkdir -p "$dir"
    local free_kib
    free_kib=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
    if [ -n "$free_kib" ] && [ "$free_kib" -lt "$need_kib" ]; then
        echo "warning: only $((free_kib / 1024)) MB free for $dir; the test build needs about 6 GB." >&2
        echo "         Free some space (cargo clean in other checkouts) if linking fails with 'Bus error'." >&2
    fi
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=""
apt_install() {
    if [ -z "$apt_updated" ]; then
        as_root apt-get update -qq
        apt_updated=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

ensure_rust() {
    if ! command -v cargo >/dev/null 2>&1; then
        step "installing the Rust toolchain (Debian's cargo)"
        apt_install cargo rustc
    fi
}

ensure_postgres() {
    if pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then return 0; fi
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
        step "installing PostgreSQL"
        apt_install postgresql
    fi
    step "starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || true
    for _ in $(seq 1 60); do
        pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    echo "PostgreSQL did not become ready on 127.0.0.1:5432" >&2
    return 1
}

ensure_prosody() {
    if command -v prosody >/dev/null 2>&1; then return 0; fi
    step "installing Prosody (Debian package)"
    apt_install prosody
    # The package starts a system-wide Prosody; tests run their own throw-away instances.
    as_root service prosody stop >/dev/null 2>&1 || as_root prosodyctl stop >/dev/null 2>&1 || true
}

ensure_chromium() {
    if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then return 0; fi
    step "installing Chromium and ChromeDriver (Debian packages)"
    apt_install chromium chromium-driver
}

# Gammu drives the modem simulator in crates/modemsim/tests/gammu.rs, as third-party AT
# software the simulator must satisfy.
ensure_gammu() {
    if command -v gammu >/dev/null 2>&1; then return 0; fi
    step "installing Gammu (Debian package)"
    apt_install gammu
}

# curl plays a library system configured for Kannel in tests/tests/send_api.rs: a request
# to /cgi-bin/sendsms made by a client nobody on the team wrote.
ensure_curl() {
    if command -v curl >/dev/null 2>&1; then return 0; fi
    step "installing curl (Debian package)"
    apt_install curl
}

# xmllint checks the CAP documents of crates/cap against the published OASIS CAP 1.2 schema
# in crates/cap/tests/schema.rs: a validator nobody on the team wrote.
ensure_xmllint() {
    if command -v xmllint >/dev/null 2>&1; then return 0; fi
    step "installing xmllint (Debian package libxml2-utils)"
    apt_install libxml2-utils
}

# slixmpp (Debian's python3-slixmpp) drives the desk's ad-hoc commands (XEP-0050) in
# tests/tests/desk_commands.rs through its xep_0050 plugin: a client library nobody on the
# team wrote.
ensure_slixmpp() {
    if /usr/bin/python3 -c 'import slixmpp' >/dev/null 2>&1; then return 0; fi
    step "installing slixmpp (Debian package python3-slixmpp)"
    apt_install python3-slixmpp
}

# ejabberd runs the stream-management cases of tests/tests/delivered_ejabberd.rs (and the
# example crates/xmpp/examples/ejabberd_check.rs): each test starts its own throw-away node.
ensure_ejabberd() {
    if command -v ejabberdctl >/dev/null 2>&1; then return 0; fi
    step "installing ejabberd (Debian package)"
    apt_install ejabberd
    # The package may start a system-wide ejabberd; the tests run their own nodes.
    as_root service ejabberd stop >/dev/null 2>&1 || as_root ejabberdctl stop >/dev/null 2>&1 || true
}

# Node.js and node-smpp (npm, pinned in crates/smpp/tests/peer/package-lock.json): the SMSC
# nobody on the team wrote that crates/smpp/tests/peer.rs checks the SMPP codec against.
ensure_smpp_peer() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        step "installing Node.js and npm (Debian packages)"
        apt_install nodejs npm
    fi
    if [ ! -d crates/smpp/tests/peer/node_modules/smpp ]; then
        step "installing node-smpp for the SMPP peer test (npm ci)"
        npm ci --prefix crates/smpp/tests/peer --no-audit --no-fund
    fi
    # The SMPP-over-TLS test makes its certificates with the openssl command.
    if ! command -v openssl >/dev/null 2>&1; then
        step "installing openssl (Debian package)"
        apt_install openssl
    fi
}

# systemd-analyze checks the unit the Debian package installs (crates/textgate/tests/deb_package.rs,
# `systemd-analyze verify` inside a throw-away root); systemctl from the same package enables
# the unit there. The test needs no running systemd.
ensure_systemd_analyze() {
    if command -v systemd-analyze >/dev/null 2>&1 && command -v systemctl >/dev/null 2>&1; then return 0; fi
    step "installing systemd-analyze (Debian package systemd)"
    apt_install systemd
}

# Converse.js (npm, pinned in clients/converse/package-lock.json): the browser desk textgate-demo
# serves, and the browser client nobody on the team wrote that tests/tests/client_converse.rs
# drives. Nothing is fetched when the pinned version is already installed, so a machine
# without the network still runs the tests it ran before.
ensure_converse() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        step "installing Node.js and npm (Debian packages)"
        apt_install nodejs npm
    fi
    if node -e '
        const want = require("./clients/converse/package.json").dependencies["converse.js"];
        const have = require("./clients/converse/node_modules/converse.js/package.json").version;
        process.exit(have === want ? 0 : 1);
    ' >/dev/null 2>&1; then
        return 0
    fi
    step "installing Converse.js for the browser desk (npm ci in clients/converse)"
    npm ci --prefix clients/converse --no-audit --no-fund
}

# profanity, a terminal XMPP client nobody on the team wrote, and tmux to drive it: the
# desk in a terminal, tests/tests/client_profanity.rs.
ensure_profanity() {
    if command -v profanity >/dev/null 2>&1 && command -v tmux >/dev/null 2>&1; then return 0; fi
    step "installing profanity and tmux (Debian packages)"
    apt_install profanity tmux
}
