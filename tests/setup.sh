#!/usr/bin/env bash
# What the tests need on a fresh machine: Debian's chromium and chromium-driver (the report is checked
# in a real headless browser) and graphviz (diagram SVG/PNG), then iimsim with its test and app extras (the app
# is served by Streamlit and driven in the same browser).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "tests/setup.sh: please install ${missing[*]} (Debian package names); browser and diagram tests skip without them" >&2
  fi
fi
python -m pip install -q -e ".[test,app]"
