#!/usr/bin/env bash
# Installs what loraharness needs and is missing: Debian packages for libserialport (serial ports) and
# zlib (gzip traces), and pkg-config to find them; the tools the tests use (tshark, jq, xmllint, chromium). Safe to run again: it does nothing when all is there.
set -u
need=()
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
if command -v pkg-config >/dev/null 2>&1; then
  pkg-config --exists libserialport || need+=(libserialport-dev)
  pkg-config --exists zlib || need+=(zlib1g-dev)
else
  need+=(libserialport-dev zlib1g-dev)
fi
# tshark: the tests check that Wireshark's own dissectors read the pcaps this tool writes.
command -v tshark >/dev/null 2>&1 || need+=(tshark)
# jq: `make bench FILTER=peers` times replay against it on the same file.
command -v jq >/dev/null 2>&1 || need+=(jq)
# xmllint (libxml2-utils) and chromium: the tests parse the HTML reports with libxml2 and render them headless.
command -v xmllint >/dev/null 2>&1 || need+=(libxml2-utils)
command -v chromium >/dev/null 2>&1 || need+=(chromium fonts-liberation)
# Slurm and munge: `make test` runs fleet shards as a real sbatch array job on a one-node cluster.
command -v slurmctld >/dev/null 2>&1 || need+=(slurm-wlm)
command -v munged >/dev/null 2>&1 || need+=(munge)   # fonts: a Recommends that --no-install-recommends leaves out
if ((${#need[@]} == 0)); then exit 0; fi

echo "deps: installing ${need[*]}" >&2
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: missing ${need[*]} and there is no apt-get here; install them with your package manager" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=sudo
  else
    echo "error: missing ${need[*]}; run 'sudo apt-get install ${need[*]}' (installing needs root)" >&2
    exit 2
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null || { echo "error: apt-get update failed; cannot install ${need[*]}" >&2; exit 2; }
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
  || { echo "error: apt-get install ${need[*]} failed" >&2; exit 2; }
echo "deps: installed ${need[*]}" >&2
