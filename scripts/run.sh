#!/bin/bash
# "make run": the whole product on this machine, in the foreground.
# Starts the dev SurrealDB (real engine, data in var/db), applies the
# migrations, provisions the service accounts, loads the sample catalog
# into an empty database, and runs nginx with conf/cartbot.conf on $PORT.
# Ctrl-C stops everything.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
nginx=${NGINX_BIN:-/usr/sbin/nginx}
port=${PORT:-8080}
db_port=${SURREAL_PORT:-8000}
var=${CARTBOT_VAR:-$top/var}
prefix=$var/nginx

mkdir -p "$var/db" "$prefix/logs" "$prefix/temp" "$prefix/conf"
chmod 0755 "$var" "$prefix" "$prefix/temp"

# the database root password: made once, kept out of the repository
if [ ! -s "$var/root.pass" ]; then
    (umask 077; head -c 18 /dev/urandom | base64 | tr '+/' '-_' > "$var/root.pass")
fi

pids=()
cleanup() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() {
    local i
    for i in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

echo "cartbot: starting SurrealDB (dev engine) on 127.0.0.1:$db_port"
node "$top/tools/surreal-dev/server.mjs" start \
    --bind "127.0.0.1:$db_port" --user root --pass "$(cat "$var/root.pass")" \
    "surrealkv://$var/db/cartbot" >>"$var/db.log" 2>&1 &
pids+=($!)

wait_port "$db_port" || { echo "the database did not start; see $var/db.log" >&2; exit 1; }

export CARTBOT_DB_URL="http://127.0.0.1:$db_port"
export CARTBOT_DB_USER=root
export CARTBOT_DB_PASS_FILE="$var/root.pass"
export CARTBOT_MIGRATIONS="$top/db/migrations"

"$build/bin/cartbot-ctl" migrate --secrets "$prefix/conf/secrets"

# the key the gateway signs shopper tokens with
if [ ! -s "$prefix/conf/secrets/token.key" ]; then
    (umask 077; openssl rand -out "$prefix/conf/secrets/token.key" 48)
fi

catalog="$top/conf/catalog/sample.json"
if [ -f "$catalog" ] && "$build/bin/cartbot-ctl" help 2>&1 | grep -q import; then
    "$build/bin/cartbot-ctl" import --if-empty --secrets "$prefix/conf/secrets" \
        "$catalog"
fi

# a fresh copy of the shipped configuration, with this run's ports
rm -rf "$prefix/conf/cartbot"
cp -r "$top/conf/cartbot" "$prefix/conf/cartbot"
sed -e "s/listen       8080;/listen       $port;/" "$top/conf/cartbot.conf" \
    > "$prefix/conf/cartbot.conf"
sed -i -e "s/server     127.0.0.1:8000 /server     127.0.0.1:$db_port /" \
    "$prefix/conf/cartbot/upstreams.conf"
ln -sfn "$build/modules" "$prefix/modules"

# the language model: Groq when GROQ_API_KEY is set, else built-in only
if [ -n "${GROQ_API_KEY:-}" ]; then
    (umask 077; printf '%s\n' "$GROQ_API_KEY" > "$prefix/conf/secrets/groq.key")
    sed -n 's/^#   \{0,1\}//p' "$top/conf/cartbot/llm.conf" \
        | sed -e '/^echo /d' -e '/^mode=hybrid asks/,$d' \
              -e "s/llama-3.1-8b-instant/${GROQ_MODEL:-llama-3.1-8b-instant}/" \
        > "$prefix/conf/cartbot/llm.conf"
    echo "cartbot: the assistant uses Groq (${GROQ_MODEL:-llama-3.1-8b-instant})"
else
    echo "cartbot: no GROQ_API_KEY: the assistant uses its built-in understanding"
fi
ln -sfn "$top/web" "$prefix/web"          # the chat page (cartbot/web.conf)

"$nginx" -t -q -p "$prefix/" -c conf/cartbot.conf -e logs/error.log

echo "cartbot: nginx on http://localhost:$port/ (Ctrl-C stops)"
"$nginx" -p "$prefix/" -c conf/cartbot.conf -e logs/error.log \
    -g 'daemon off;' &
pids+=($!)

wait -n "${pids[@]}"
