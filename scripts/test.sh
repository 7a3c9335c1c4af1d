#!/usr/bin/env bash
# Run every vigil check on a fresh machine: installs what the tests need,
# then formatting, lints, docs and the whole test suite.
#
# Needs ../shared/data beside the checkout (tests read the public sample
# data in place and fail, never skip, when it is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "toolchain"
if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is not installed: install Rust (https://rustup.rs) and run again" >&2
    exit 1
fi
cargo --version
rustup component add rustfmt clippy >/dev/null 2>&1 || true

step "shared sample data"
if [ ! -f ../shared/data/SOURCES.md ]; then
    echo "../shared/data is missing: the tests read the public sample data there" >&2
    exit 1
fi

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked -q

step "python tools for the pySigma differential test"
# A venv outside the checkout, rebuilt only when the pins change.
venv=${VIGIL_PYSIGMA_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil/pysigma-venv}
reqs=tests/pysigma/requirements.txt
if ! cmp -s "$reqs" "$venv/requirements.txt" 2>/dev/null; then
    python=$(command -v python3.11 || command -v python3)
    rm -rf "$venv"
    if ! "$python" -m venv "$venv"; then
        # Debian keeps venv apart from python3.
        apt-get install -y -q python3-venv && "$python" -m venv "$venv"
    fi
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$reqs"
    cp "$reqs" "$venv/requirements.txt"
fi
"$venv/bin/python" -c 'import sigma.backends.sqlite, duckdb'

step "Kafka broker for the vigil run tests (Tansu)"
# The tests start and stop their own broker with memory storage on a
# loopback port; they find it at $VIGIL_TANSU or ~/.cargo/bin/tansu.
tansu_version=0.6.0
tansu_bin=${CARGO_HOME:-$HOME/.cargo}/bin/tansu
if ! "$tansu_bin" --version 2>/dev/null | grep -qx "tansu $tansu_version"; then
    cargo install --locked tansu --version "$tansu_version" --features dynostore
fi
export VIGIL_TANSU=$tansu_bin
"$VIGIL_TANSU" --version

step "tests"
log=$(mktemp)
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

step "differential test against pySigma"
set +e
cargo build --locked -q --bin vigil &&
    "$venv/bin/python" tests/pysigma/differential.py --vigil "${CARGO_TARGET_DIR:-target}/debug/vigil" 2>&1 | tee -a "$log"
py_status=${PIPESTATUS[0]}
set -e
[ "$status" -ne 0 ] || status=$py_status

# One closing line over every test binary, so CI sees the whole count.
passed=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
rm -f "$log"
echo
echo "${passed} passed, ${failed} failed"
exit "$status"
