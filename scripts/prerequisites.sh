#!/usr/bin/env bash
# What the test suite needs beyond Node and pnpm, installed and started when missing (Debian, as root):
# Debian's chromium for the browser suites, PostgreSQL on 127.0.0.1:5432 reachable as postgres, and a NATS server on
# 127.0.0.1:4222 (the server's other live bus), and pgbouncer (its suite starts its own).
set -euo pipefail

need_apt=()
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  need_apt+=(postgresql)
fi
command -v nats-server >/dev/null 2>&1 || need_apt+=(nats-server)
command -v pgbouncer >/dev/null 2>&1 || need_apt+=(pgbouncer)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
command -v chromium >/dev/null 2>&1 || { echo "chromium is missing and could not be installed"; exit 1; }

cluster_version=$(ls /etc/postgresql | sort -V | tail -n 1)
pg_isready -h 127.0.0.1 -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect "$cluster_version" main start 2>/dev/null || true
for _ in $(seq 1 30); do
  pg_isready -h 127.0.0.1 -p 5432 -q && break
  sleep 1
done
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL did not start on 127.0.0.1:5432"; exit 1; }
# A fresh Debian cluster asks for a password over TCP: give postgres one, and a ~/.pgpass that psql and pg both read.
if ! psql -h 127.0.0.1 -U postgres -d postgres -c "select 1" >/dev/null 2>&1; then
  su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'hokan-test'\""
  echo "127.0.0.1:5432:*:postgres:hokan-test" >> "$HOME/.pgpass"
  chmod 600 "$HOME/.pgpass"
fi
psql -h 127.0.0.1 -U postgres -d postgres -c "select 1" >/dev/null || { echo "cannot connect to PostgreSQL as postgres"; exit 1; }

# NATS: started in the background where nothing answers on its port (a machine may run its own already).
nats_up() { (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; }
if ! nats_up; then
  command -v nats-server >/dev/null 2>&1 || { echo "nats-server is missing and could not be installed"; exit 1; }
  setsid nats-server -a 127.0.0.1 -p 4222 > /tmp/hokan-nats.log 2>&1 < /dev/null &
  for _ in $(seq 1 30); do
    nats_up && break
    sleep 0.5
  done
  nats_up || { cat /tmp/hokan-nats.log; echo "NATS did not start on 127.0.0.1:4222"; exit 1; }
fi
