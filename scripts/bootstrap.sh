#!/usr/bin/env bash
# Make this checkout runnable: a .venv with the project (editable, dev extras) and the
# Debian shared libraries Qt 6 needs, both for QT_QPA_PLATFORM=offscreen and for a real
# X11 (xcb) window. Idempotent; prints nothing and takes well under a second when
# everything is already in place.
#
#   scripts/bootstrap.sh [--quiet] [--xvfb]
#
#   --quiet   keep pip/apt output in a log file (shown only if a step fails)
#   --xvfb    also install Xvfb and xauth, for `xvfb-run -a ./chargebench` (same as CHARGEBENCH_XVFB=1)
#
# Environment:
#   CHARGEBENCH_PYTHON=python3.12   interpreter to build the venv with (default: first python3 >= 3.11)
#   CHARGEBENCH_XVFB=1              same as --xvfb
#   CHARGEBENCH_SKIP_APT=1          never check or install Debian packages
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.chargebench-bootstrap"
QUIET=0
XVFB="${CHARGEBENCH_XVFB:-0}"

for arg in "$@"; do
    case "$arg" in
        -q | --quiet) QUIET=1 ;;
        --xvfb) XVFB=1 ;;
        -h | --help)
            sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "bootstrap: unknown option: $arg" >&2
            exit 2
            ;;
    esac
done

# Shared libraries the PySide6-Essentials 6.11 wheels load from the system, found with ldd on
# QtCore/Gui/Widgets/OpenGL/Network/Svg/Test, the offscreen and xcb platform plugins and the xcb
# GL integrations (each package pulls its own dependencies in). libxcb-xinerama0 is no longer
# needed by Qt 6.
QT_DEBS=(
    libglib2.0-0 libdbus-1-3 libgssapi-krb5-2
    libfontconfig1 libfreetype6
    libegl1 libgl1
    libxkbcommon0 libxkbcommon-x11-0
    libx11-6 libx11-xcb1
    libxcb1 libxcb-cursor0 libxcb-glx0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
    libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0
    libxcb-sync1 libxcb-util1 libxcb-xfixes0 libxcb-xkb1
)
XVFB_DEBS=(xvfb xauth)
# pyusb talks to USB RFID readers through libusb 1.0 (tests use a simulated backend instead).
USB_DEBS=(libusb-1.0-0)
FONT_DEB=fonts-dejavu-core

LOG="${TMPDIR:-/tmp}/chargebench-bootstrap.$$.log"
trap 'rm -f "$LOG"' EXIT

say() { echo "chargebench: $*" >&2; }

# Run a command; in quiet mode its output goes to the log, which is shown when it fails.
run() {
    if [[ $QUIET == 1 ]]; then
        if ! "$@" >>"$LOG" 2>&1 </dev/null; then
            tail -n 60 "$LOG" >&2
            say "failed: $*"
            return 1
        fi
    else
        "$@" </dev/null
    fi
}

as_root() {
    if [[ $(id -u) == 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        say "need root to run: $*  (no sudo found; set CHARGEBENCH_SKIP_APT=1 to skip)"
        return 1
    fi
}

# --- Debian packages -------------------------------------------------------------------------

APT_UPDATED=0
apt_install() {
    say "installing Debian packages: $*"
    export DEBIAN_FRONTEND=noninteractive
    if [[ $APT_UPDATED == 0 ]]; then
        run as_root apt-get -q -o DPkg::Lock::Timeout=300 update
        APT_UPDATED=1
    fi
    run as_root apt-get -q -y -o DPkg::Lock::Timeout=300 install --no-install-recommends "$@"
}

# Print the packages among "$@" that dpkg does not list as installed.
missing_debs() {
    local installed
    installed="$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "$@" 2>/dev/null |
        awk '$1 == "ii" { sub(/:.*/, "", $2); print $2 }')" || true
    local p
    for p in "$@"; do
        grep -qxF "$p" <<<"$installed" || echo "$p"
    done
}

have_fonts() {
    local d
    for d in /usr/share/fonts /usr/local/share/fonts "$HOME/.local/share/fonts" "$HOME/.fonts"; do
        [[ -d $d ]] || continue
        if [[ -n "$(find "$d" -type f \( -iname '*.ttf' -o -iname '*.otf' -o -iname '*.ttc' \
            -o -iname '*.pfb' -o -iname '*.pcf.gz' \) -print -quit 2>/dev/null)" ]]; then
            return 0
        fi
    done
    return 1
}

ensure_system_packages() {
    [[ ${CHARGEBENCH_SKIP_APT:-0} == 1 ]] && return 0
    command -v dpkg-query >/dev/null || return 0 # not Debian: the user provides the libraries
    local wanted=("${QT_DEBS[@]}" "${USB_DEBS[@]}")
    [[ $XVFB == 1 ]] && wanted+=("${XVFB_DEBS[@]}")
    local missing
    mapfile -t missing < <(missing_debs "${wanted[@]}")
    have_fonts || missing+=("$FONT_DEB")
    if ((${#missing[@]})); then
        apt_install "${missing[@]}"
    fi
}

# --- Python ------------------------------------------------------------------------------------

pick_python() {
    local c
    for c in ${CHARGEBENCH_PYTHON:-} python3 python3.13 python3.12 python3.11; do
        command -v "$c" >/dev/null || continue
        if "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$c"
            return 0
        fi
    done
    return 1
}

create_venv() {
    local py
    if ! py="$(pick_python)"; then
        if command -v apt-get >/dev/null && [[ ${CHARGEBENCH_SKIP_APT:-0} != 1 ]]; then
            apt_install python3 python3-venv
            py="$(pick_python)" || { say "no Python >= 3.11 found"; return 1; }
        else
            say "no Python >= 3.11 found (set CHARGEBENCH_PYTHON to one)"
            return 1
        fi
    fi
    # Debian's own python3 ships venv without ensurepip; that lives in python3.X-venv.
    if ! "$py" -c 'import ensurepip, venv' 2>/dev/null; then
        local ver
        ver="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
        if command -v apt-get >/dev/null && [[ ${CHARGEBENCH_SKIP_APT:-0} != 1 ]]; then
            apt_install "python$ver-venv"
        fi
    fi
    say "creating .venv with $("$py" -c 'import sys; print(sys.executable, sys.version.split()[0])')…"
    rm -rf "$VENV"
    run "$py" -m venv "$VENV"
}

venv_ok() {
    [[ -x $VENV/bin/python ]] && "$VENV/bin/python" -c '' 2>/dev/null
}

# What the editable install depends on: pyproject.toml, where the checkout lives (the venv's
# scripts and the editable finder hold absolute paths) and the interpreter.
wanted_stamp() {
    local sum
    sum="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
    echo "$sum $ROOT $(readlink -f "$VENV/bin/python" 2>/dev/null)"
}

# After an install, tell about Qt libraries the loader still can't find (a new PySide6 may need
# more than QT_DEBS lists).
report_missing_qt_libs() {
    command -v ldd >/dev/null || return 0
    local qt
    qt="$("$VENV/bin/python" -c 'import os, PySide6; print(os.path.dirname(PySide6.__file__))' \
        2>/dev/null)" || return 0
    local libs=("$qt"/Qt/plugins/platforms/libq{offscreen,xcb}.so "$qt"/Qt/lib/libQt6{Core,Gui,Widgets,XcbQpa}.so.6)
    local missing
    missing="$(LD_LIBRARY_PATH="$qt/Qt/lib" ldd "${libs[@]}" 2>/dev/null |
        awk '/not found/ { print $1 }' | sort -u | tr '\n' ' ')" || true
    if [[ -n $missing ]]; then
        say "warning: Qt can't find these system libraries: $missing"
    fi
}

ensure_venv() {
    if [[ -e $VENV ]] && ! venv_ok; then
        say ".venv is broken; recreating it"
        rm -rf "$VENV"
    fi
    if [[ -f $STAMP ]] && [[ "$(cat "$STAMP")" != "$(wanted_stamp)" ]] &&
        [[ "$(cut -d' ' -f2 "$STAMP")" != "$ROOT" ]]; then
        say "the checkout moved; recreating .venv"
        rm -rf "$VENV"
    fi
    [[ -d $VENV ]] || create_venv
    if [[ ! -f $STAMP ]] || [[ "$(cat "$STAMP")" != "$(wanted_stamp)" ]]; then
        say "installing chargebench and its dev tools into .venv (pip install -e '.[dev]')…"
        rm -f "$STAMP"
        export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_PROGRESS_BAR=off
        (cd "$ROOT" && run "$VENV/bin/python" -m pip install -e '.[dev]')
        wanted_stamp >"$STAMP"
        report_missing_qt_libs
    fi
}

# --- main --------------------------------------------------------------------------------------

main() {
    # One bootstrap at a time per checkout (the launcher and ./run-tests may start together).
    if command -v flock >/dev/null; then
        local lock
        lock="${TMPDIR:-/tmp}/chargebench-bootstrap-$(cksum <<<"$ROOT" | cut -d' ' -f1).lock"
        exec 9>"$lock"
        flock 9
    fi
    ensure_system_packages
    ensure_venv
}

main
