#!/usr/bin/env bash
#
# End-to-end checks of cartbot-ctl and db/migrations against the dev
# SurrealDB server (tools/surreal-dev, the real 3.x engine), memory storage.
# Assumes `make build/bin/cartbot-ctl` was run.  Needs node and curl.
#
#   tools/cartbot-ctl/test.sh
#
# Overrides: CARTBOT_CTL (the binary), SURREAL_DEV_CMD (the server command,
# run with "start --bind 127.0.0.1:0 --user root --pass root memory").
# The last line is "N passed, N failed"; the exit status is non-zero when
# anything failed.

set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CTL=${CARTBOT_CTL:-$ROOT/build/bin/cartbot-ctl}
SERVER_CMD=${SURREAL_DEV_CMD:-node $ROOT/tools/surreal-dev/server.mjs}
MIGRATIONS=$ROOT/db/migrations

TMP=$(mktemp -d /tmp/cartbot-ctl-test.XXXXXX)
SPID=
passed=0
failed=0

cleanup() {
    if [ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null; then
        kill "$SPID" 2>/dev/null
        wait "$SPID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

ok()   { passed=$((passed + 1)); echo "ok   - $*"; }
nok()  { failed=$((failed + 1)); echo "FAIL - $*"; }

# check DESCRIPTION COMMAND...: passes when COMMAND succeeds
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else nok "$what"; fi
}

# check_rc DESCRIPTION RC FILE PATTERN: the last ctl exited RC and FILE
# ($TMP/out or $TMP/err) matches PATTERN
check_rc() {
    if [ "$rc" -eq "$2" ] && grep -q -- "$4" "$3"; then
        ok "$1"
    else
        nok "$1 (rc=$rc: $(head -c 300 "$3"))"
    fi
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

# ---------------------------------------------------------------- helpers

# run the CLI: stdout in $TMP/out, stderr in $TMP/err, status in $rc
ctl() {
    "$CTL" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    return 0
}

# sql_root QUERY [ARGS]: POST /sql as root (Basic)
sql_root() {
    curl -sS -H 'Accept: application/json' -u root:root \
        -H 'surreal-ns: production' -H 'surreal-db: chatbot' \
        --data-binary "$1" "$URL/sql${2:+?$2}"
}

# sql_as TOKEN QUERY [ARGS]: POST /sql with a service's token (Bearer)
sql_as() {
    curl -sS -H 'Accept: application/json' -H "Authorization: Bearer $1" \
        --data-binary "$2" "$URL/sql${3:+?$3}"
}

# signin FILE: prints the token of a /signin with that body
signin() {
    curl -sS -H 'Accept: application/json' --data-binary "@$1" \
        "$URL/signin" | json 'console.log(typeof v === "object" && v && typeof v.token === "string" ? v.token : "")'
}

# json CODE: runs CODE with v = the JSON on stdin
json() {
    node -e "
        let t = require('fs').readFileSync(0, 'utf8'), v;
        try { v = JSON.parse(t); } catch (e) { v = 'NOT JSON: ' + t; }
        $1"
}

# statuses: "OK OK ERR" for a /sql answer
statuses() {
    json 'console.log(Array.isArray(v) ? v.map(s => s.status).join(" ") : "NOT A LIST: " + JSON.stringify(v))'
}

# first_error: the first ERR entry's message
first_error() {
    json 'const e = Array.isArray(v) && v.find(s => s.status === "ERR"); console.log(e ? e.result : "")'
}

# last_result: the last entry's result as JSON
last_result() {
    json 'console.log(Array.isArray(v) && v.length ? JSON.stringify(v[v.length - 1].result) : "")'
}

has()    { grep -q -- "$2" "$1"; }
hasnt()  { ! grep -q -- "$2" "$1"; }

# ----------------------------------------------------------- the server

if [ ! -x "$CTL" ]; then
    nok "no $CTL: run make build/bin/cartbot-ctl first"
    finish
fi

$SERVER_CMD start --bind 127.0.0.1:0 --user root --pass root memory \
    >"$TMP/server.out" 2>"$TMP/server.err" &
SPID=$!

PORT=
for _ in $(seq 1 150); do
    # "surreal-dev listening on 127.0.0.1:PORT (memory)", or a bare port
    PORT=$(cat "$TMP/server.out" "$TMP/server.err" 2>/dev/null \
           | grep -oE 'listening on [^ ]*:[0-9]+|^[0-9]{2,5}$' \
           | grep -oE '[0-9]+$' | head -n 1)
    [ -n "$PORT" ] && break
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.1
done

if [ -z "$PORT" ]; then
    nok "dev server did not start: $(cat "$TMP/server.out" "$TMP/server.err")"
    finish
fi

URL=http://127.0.0.1:$PORT
export CARTBOT_DB_URL=$URL CARTBOT_DB_NS=production CARTBOT_DB_DB=chatbot
export CARTBOT_DB_USER=root CARTBOT_MIGRATIONS=$MIGRATIONS
unset CARTBOT_DB_PASS CARTBOT_DB_PASS_FILE CARTBOT_SECRETS_DIR
printf 'root\n' >"$TMP/root.pass"
echo "# dev server on $URL (pid $SPID)"

NFILES=$(ls "$MIGRATIONS"/*.surql | wc -l)
SECRETS=$TMP/secrets

# ------------------------------------------------------------- migrate

ctl --pass-file "$TMP/root.pass" --secrets "$SECRETS" migrate
check "first migrate exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$TMP/out" "$TMP/err"
check "first migrate applies all $NFILES files" \
    has "$TMP/out" "^migrate: $NFILES applied, 0 skipped$"
check "first migrate applies each file once, in name order" \
    [ "$(grep '^applied ' "$TMP/out" | awk '{print $2}' | tr '\n' ' ')" \
      = "$(cd "$MIGRATIONS" && ls *.surql | tr '\n' ' ')" ]
check "first migrate provisions 5 accounts" \
    has "$TMP/out" '^accounts: 5 ready .*(5 files created, 5 records written)'

CARTBOT_DB_PASS=root ctl --secrets "$SECRETS" migrate
check "second migrate exits 0" [ "$rc" -eq 0 ]
check "second migrate applies nothing and says so" \
    has "$TMP/out" "^migrate: nothing to apply, $NFILES already applied$"
check "second migrate has no applied line" hasnt "$TMP/out" '^applied '
check "second migrate keeps files and records" \
    has "$TMP/out" '(0 files created, 0 records written)'

# the migration table is recorded, and hidden from services (below)
sql_root 'SELECT VALUE name FROM migration ORDER BY name;' >"$TMP/ans"
check "migration table records $NFILES files" \
    [ "$(last_result <"$TMP/ans" | json 'console.log(v.length)')" = "$NFILES" ]

# ------------------------------------------------------------- secrets

check "secrets dir is mode 700" \
    [ "$(stat -c %a "$SECRETS")" = 700 ]

for s in gateway cart product session chat; do
    f=$SECRETS/$s.json
    check "$s.json is mode 600" [ "$(stat -c %a "$f" 2>/dev/null)" = 600 ]
    check "$s.json is exactly the /signin body" \
        [ "$(json 'console.log(Object.keys(v).join(",") + " " + v.ns + " "
              + v.db + " " + v.ac + " " + v.user + " "
              + /^[A-Za-z0-9_-]{43}$/.test(v.pass))' <"$f")" \
          = "ns,db,ac,user,pass production chatbot service $s true" ]
    check "$s.json has nothing after the JSON" \
        [ "$(tail -c 1 "$f" 2>/dev/null)" = "}" ]
done

for s in gateway cart product session chat; do
    tok=$(signin "$SECRETS/$s.json")
    printf -v "TOKEN_$s" '%s' "$tok"
    check "$s signs in with its file and gets a token" \
        [ "$(printf '%s' "$tok" | cut -d. -f1 | head -c 3)" = eyJ ]
done

echo '{"ns":"production","db":"chatbot","ac":"service","user":"cart","pass":"wrong"}' \
    >"$TMP/wrong.json"
check "a wrong service password gets no token" \
    [ -z "$(signin "$TMP/wrong.json" 2>/dev/null)" ]

# ---------------------------------------------------- table permissions

sql_root "CREATE product:p1 SET name = 'Blue Tee', price = 10;
          CREATE user_session:s1 SET user_id = 'u1';" >"$TMP/ans"
check "root creates a product and a session" \
    [ "$(statuses <"$TMP/ans")" = "OK OK" ]

CART_SQL="LET \$S = type::record('user_session', \$s);
LET \$P = type::record('product', \$p);
UPSERT type::record('cart', [\$S, \$P])
    SET session_id = \$S, product_id = \$P, quantity += <int>\$n
    RETURN VALUE quantity;"

sql_as "$TOKEN_cart" "$CART_SQL" 's=s1&p=p1&n=2' >"$TMP/ans"
check "cart UPSERTs a cart line (URL variables, cast)" \
    [ "$(statuses <"$TMP/ans") $(last_result <"$TMP/ans")" = "OK OK OK [2]" ]

sql_as "$TOKEN_cart" "UPDATE product:p1 SET price = 0.01;" >"$TMP/ans"
check "cart writing product gets ERR permission denied" \
    [ "$(first_error <"$TMP/ans")" = "An error occurred: permission denied: service_account:cart may not write table product" ]

sql_root "SELECT VALUE price FROM ONLY product:p1;" >"$TMP/ans"
check "product unchanged after the refused write" \
    [ "$(last_result <"$TMP/ans")" = 10 ]

sql_as "$TOKEN_product" "$CART_SQL" 's=s1&p=p1&n=1' >"$TMP/ans"
check "product writing cart gets ERR permission denied" \
    has <(first_error <"$TMP/ans") 'permission denied: service_account:product may not write table cart'

sql_as "$TOKEN_product" "SELECT VALUE quantity FROM cart;" >"$TMP/ans"
check "product reads cart (recommendations)" \
    [ "$(last_result <"$TMP/ans")" = "[2]" ]

sql_as "$TOKEN_gateway" "SELECT VALUE quantity FROM cart;" >"$TMP/ans"
check "gateway sees no cart rows" [ "$(last_result <"$TMP/ans")" = "[]" ]

sql_as "$TOKEN_chat" "CREATE chat_message SET session_id = type::record('user_session', \$s), seq = 1, role = 'user', content = \$c RETURN VALUE content;" \
    's=s1&c=hello%3Aworld%20how%20are%20you' >"$TMP/ans"
check "chat writes chat_message" \
    [ "$(last_result <"$TMP/ans")" = '["hello:world how are you"]' ]

sql_as "$TOKEN_session" "CREATE chat_message SET session_id = user_session:s1, seq = 2, role = 'user', content = 'x';" >"$TMP/ans"
check "session writing chat_message gets ERR permission denied" \
    has <(first_error <"$TMP/ans") 'permission denied: service_account:session may not write table chat_message'

sql_as "$TOKEN_cart" "SELECT * FROM chat_message;" >"$TMP/ans"
check "cart sees no chat messages" [ "$(last_result <"$TMP/ans")" = "[]" ]

sql_as "$TOKEN_gateway" "CREATE shopper SET username = \$u, password_hash = crypto::argon2::generate(\$p) RETURN VALUE role;" \
    'u=alice&p=secret' >"$TMP/ans"
check "gateway creates a shopper" \
    [ "$(last_result <"$TMP/ans")" = '["shopper"]' ]

sql_as "$TOKEN_session" "CREATE shopper SET username = 'mallory', password_hash = 'x';" >"$TMP/ans"
check "session writing shopper gets ERR permission denied" \
    has <(first_error <"$TMP/ans") 'permission denied: service_account:session may not write table shopper'

ORDER_SQL="CREATE purchase_order CONTENT {
    session_id: user_session:s1, user_id: 'u1',
    items: [{ product_id: product:p1, name: 'Blue Tee', unit_price: 10.0,
              quantity: 2, line_total: 20.0 }],
    subtotal: 20.0, tax: 1.6, shipping: 0.0, discount: 0.0, total: 21.6,
    currency: 'USD' } RETURN VALUE status;"

sql_as "$TOKEN_session" "$ORDER_SQL" >"$TMP/ans"
check "session creates a purchase_order" \
    [ "$(last_result <"$TMP/ans")" = '["placed"]' ]

sql_as "$TOKEN_cart" "$ORDER_SQL" >"$TMP/ans"
check "cart writing purchase_order gets ERR permission denied" \
    has <(first_error <"$TMP/ans") 'permission denied: service_account:cart may not write table purchase_order'

sql_as "$TOKEN_session" "${ORDER_SQL/line_total: 20.0 /line_total: 20.0, colour: 'red' }" >"$TMP/ans"
check "purchase_order refuses an unknown item field" \
    [ "$(statuses <"$TMP/ans")" = ERR ]

for t in migration service_account; do
    sql_as "$TOKEN_session" "SELECT * FROM $t;" >"$TMP/ans"
    check "services cannot see $t" [ "$(last_result <"$TMP/ans")" = "[]" ]
done

sql_as "$TOKEN_cart" "DEFINE TABLE hack;" >"$TMP/ans"
check "services cannot define tables" [ "$(statuses <"$TMP/ans")" = ERR ]

# a hand-edited password: the record follows the file
json 'v.pass = "changed-by-hand"; process.stdout.write(JSON.stringify(v))' \
    <"$SECRETS/chat.json" >"$TMP/chat.json"
cat "$TMP/chat.json" >"$SECRETS/chat.json"
CARTBOT_DB_PASS=root ctl --secrets "$SECRETS" migrate
check "migrate re-hashes a changed service password" \
    has "$TMP/out" '^account  chat     file kept, database record updated$'
check "chat signs in with the changed password" \
    [ -n "$(signin "$SECRETS/chat.json")" ]

# -------------------------------------------------------------- import

SAMPLE=$ROOT/conf/catalog/sample.json
NSAMPLE=$(json 'console.log(v.length)' <"$SAMPLE")
MODEL=cartbot-hash-384-v1

# stamps: "key updated_at" of every imported product, sorted
stamps() {
    sql_root "SELECT record::id(id) AS k, <string> updated_at AS u
              FROM product WHERE content_hash != NONE;" \
        | last_result \
        | json 'for (const r of v.sort((a, b) => a.k < b.k ? -1 : 1))
                    console.log(r.k + " " + r.u)'
}

# the root password is not needed: the product account writes
CARTBOT_SECRETS_DIR=$SECRETS ctl import "$SAMPLE"
check_rc "import of the sample: exit 0, all $NSAMPLE created" 0 "$TMP/out" \
    "^import: $NSAMPLE created, 0 updated, 0 unchanged, 0 rejected$"
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$TMP/out" "$TMP/err"
check "import says which account it writes as" \
    has "$TMP/out" '^import: .*sample.json, [0-9]* rows, as the product account'
check "import prints plain progress lines without a terminal" \
    has "$TMP/err" "^import: $NSAMPLE/$NSAMPLE rows (100%)$"
check "the sample has at least 60 products" [ "$NSAMPLE" -ge 60 ]

sql_root "SELECT count() FROM product WHERE array::len(embedding ?? []) = 384
          AND embedding_model = '$MODEL' AND content_hash != NONE
          GROUP ALL;" >"$TMP/ans"
check "every imported product has 384 floats and embedding_model" \
    [ "$(last_result <"$TMP/ans")" = "[{\"count\":$NSAMPLE}]" ]

sql_as "$TOKEN_cart" "SELECT name, price, array::len(embedding) AS dim,
    embedding_model, type::of(embedding[0]) AS t
    FROM ONLY product:tee_blue_cotton;" >"$TMP/ans"
check "another service reads an imported product and its vector" \
    [ "$(last_result <"$TMP/ans")" = "{\"dim\":384,\"embedding_model\":\"$MODEL\",\"name\":\"Blue Cotton T-Shirt\",\"price\":19.99,\"t\":\"float\"}" ]

sql_root "SELECT VALUE record::id(id) FROM product
          WHERE name @1@ 't-shirts';" >"$TMP/ans"
check "full text: 't-shirts' finds 'T-Shirt' names (cartbot_en)" \
    has <(last_result <"$TMP/ans") '"tee_blue_cotton"'
sql_root "SELECT VALUE record::id(id) FROM product
          WHERE description @2@ 'screen-printed mountains';" >"$TMP/ans"
check "full text on descriptions" \
    [ "$(last_result <"$TMP/ans")" = '["tee_black_graphic"]' ]

sql_as "$TOKEN_session" \
    "UPDATE product:tee_blue_cotton SET content_hash = 'x';" >"$TMP/ans"
check "session may not change product.content_hash" \
    has <(first_error <"$TMP/ans") 'may not change product.content_hash'
sql_as "$TOKEN_session" \
    "UPDATE product:tee_blue_cotton SET embedding_model = 'x';" >"$TMP/ans"
check "session may not change product.embedding_model" \
    has <(first_error <"$TMP/ans") 'may not change product.embedding_model'

stamps >"$TMP/stamps1"
sleep 0.05
CARTBOT_SECRETS_DIR=$SECRETS ctl import "$SAMPLE"
check_rc "re-import of the same file: all unchanged, exit 0" 0 "$TMP/out" \
    "^import: 0 created, 0 updated, $NSAMPLE unchanged, 0 rejected$"
stamps >"$TMP/stamps2"
check "re-import moves no updated_at" \
    [ "$(wc -l <"$TMP/stamps1")" -eq "$NSAMPLE" ] \
    && cmp -s "$TMP/stamps1" "$TMP/stamps2"

ctl --secrets "$SECRETS" --if-empty import "$SAMPLE"
check_rc "--if-empty on a non-empty table: exit 0, nothing imported" 0 \
    "$TMP/out" 'nothing imported (--if-empty)'
stamps >"$TMP/stamps2"
check "--if-empty writes nothing" cmp -s "$TMP/stamps1" "$TMP/stamps2"

# an edited row updates exactly that row
json 'v.find(p => p.id === "tee_navy_vneck").price = 21.5;
      console.log(JSON.stringify(v, null, 2))' <"$SAMPLE" >"$TMP/edited.json"
ctl --secrets "$SECRETS" import "$TMP/edited.json"
check_rc "an edited row: 1 updated, the rest unchanged" 0 "$TMP/out" \
    "^import: 0 created, 1 updated, $((NSAMPLE - 1)) unchanged, 0 rejected$"
stamps >"$TMP/stamps3"
check "only the edited row's updated_at moved" \
    [ "$(diff "$TMP/stamps1" "$TMP/stamps3" | grep '^>' | cut -d' ' -f2)" \
      = tee_navy_vneck ]
sql_root "SELECT VALUE price FROM ONLY product:tee_navy_vneck;" >"$TMP/ans"
check "the edited price is stored" [ "$(last_result <"$TMP/ans")" = 21.5 ]

# bad rows: the good ones land, each bad one is reported by its line
cat >"$TMP/bad.json" <<'JSON'
[
  {"id": "good_one", "name": "Good One", "price": 10, "stock_quantity": 5},
  {"id": "no_name", "price": 3},
  {"id": "neg_price", "name": "Negative", "price": -3},
  {"id": "score7", "name": "Score Seven", "price": 4, "score": 7},
  {"id": "frac", "name": "Fractional", "price": 4, "stock_quantity": 2.5},
  {"id": "unknown", "name": "Unknown Key", "price": 4, "colour": "red"},
  {"id": "good_one", "name": "Duplicate", "price": 4},
  {"id": 42, "name": ["x"], "price": "12.5", "description": 7,
   "stock_quantity": "3"},
  "not an object",
  {"name": "Derived Id Product", "price": 5.5, "score": 0, "specs": null},
  {"id": "bad id!", "name": "Bad Id", "price": 1},
  {"name": "  ", "price": 1},
  {"name": "derived-ID product", "price": 1},
  {"id": "product:quoted",
   "name": "It's \\ \"quoted\"\nnew line, caf\u00e9 \u65e5\u672c",
   "price": 1e2, "score": 4.25, "stock_quantity": 1e3}
]
JSON
ctl --secrets "$SECRETS" import "$TMP/bad.json"
check_rc "a file with bad rows: exit 1, good rows created" 1 "$TMP/out" \
    '^import: 3 created, 0 updated, 0 unchanged, 11 rejected$'
while IFS='|' read -r line reason; do
    check "bad row at line $line: $reason" \
        grep -qF -- "line $line: $reason" "$TMP/out"
done <<'REJECTS'
3|name is required
4|price must be greater than 0 (got -3)
5|score must be from 0 to 5 (got 7)
6|stock_quantity must be a whole number (got 2.5)
7|unknown key "colour"
8|duplicate id "good_one" (already at line 2)
9|name must be a string, not an array; description must be a string, not a number; price must be a number, not a string; stock_quantity must be a whole number, not a string; id must be a string, not a number
11|a product must be a JSON object, not a string
13|id "bad id!" must be 1 to 64 letters, digits or '_'
14|name is empty
15|duplicate id "derived_id_product", made from the name
REJECTS
check "no good row is reported" \
    [ "$(grep -c '^line ' "$TMP/out")" -eq 11 ]
sql_root "SELECT VALUE [record::id(id), name, price, score, stock_quantity]
          FROM [product:good_one, product:derived_id_product,
                product:quoted];" >"$TMP/ans"
check "the good rows landed as given (ids, strings, numbers)" \
    [ "$(last_result <"$TMP/ans")" = '[["good_one","Good One",10,null,5],["derived_id_product","Derived Id Product",5.5,0,0],["quoted","It'"'"'s \\ \"quoted\"\nnew line, café 日本",100,4.25,1000]]' ]
ctl --secrets "$SECRETS" import "$TMP/bad.json"
check_rc "re-import of the bad file: good rows unchanged, still exit 1" 1 \
    "$TMP/out" '^import: 0 created, 0 updated, 3 unchanged, 11 rejected$'

printf '[\n  {"name": "A", "price": 1},\n  {"name": "B" "price": 2}\n]\n' \
    >"$TMP/broken.json"
ctl --secrets "$SECRETS" import "$TMP/broken.json"
check_rc "invalid JSON: exit 1 with the line" 1 "$TMP/err" \
    'broken.json line 3: not valid JSON'
echo '{"name": "A", "price": 1}' >"$TMP/object.json"
ctl --secrets "$SECRETS" import "$TMP/object.json"
check_rc "not an array: exit 1" 1 "$TMP/err" 'must hold a JSON array'
ctl --secrets "$SECRETS" import "$TMP/nosuch.json"
check_rc "a missing file: exit 2" 2 "$TMP/err" 'cannot open'

# a change of embedding model is detected, reported and re-embedded
sql_root "UPDATE product SET embedding_model = 'cartbot-hash-384-v0'
          WHERE record::id(id) IN ['tee_blue_cotton', 'good_one']
          RETURN NONE;" >/dev/null
ctl --secrets "$SECRETS" import "$SAMPLE"
check_rc "another model is reported with its count" 0 "$TMP/out" \
    "^import: 2 products were embedded with model \"cartbot-hash-384-v0\", not \"$MODEL\": re-embedding them$"
check "the old model's row and the edited one (back) are updated" \
    has "$TMP/out" \
    "^import: 0 created, 2 updated, $((NSAMPLE - 2)) unchanged, 0 rejected$"
check "the stored product not in the file is re-embedded too" \
    has "$TMP/out" \
    "re-embedded with model \"$MODEL\": 1 of the file's rows, 1 other stored"
sql_root "SELECT count() FROM product WHERE embedding_model != '$MODEL'
          AND embedding_model != NONE GROUP ALL;" >"$TMP/ans"
check "no product is left with the old model" \
    [ "$(last_result <"$TMP/ans")" = '[{"count":0}]' ]
ctl --secrets "$SECRETS" import "$TMP/bad.json"
check "a re-embedded stored product then reads as unchanged" \
    has "$TMP/out" '^import: 0 created, 0 updated, 3 unchanged, 11 rejected$'

# the product account's credentials are what the import uses
mkdir -m 700 "$TMP/badsecrets"
json 'v.pass = "wrong"; process.stdout.write(JSON.stringify(v))' \
    <"$SECRETS/product.json" >"$TMP/badsecrets/product.json"
chmod 600 "$TMP/badsecrets/product.json"
ctl --secrets "$TMP/badsecrets" import "$SAMPLE"
check_rc "a wrong product password: exit 1, cannot sign in" 1 "$TMP/err" \
    'the product account cannot sign in'
ctl --secrets "$TMP" import "$SAMPLE"
check_rc "no product.json: exit 2, says how to make it" 2 "$TMP/err" \
    'cartbot-ctl migrate --secrets'

# an empty database: --if-empty loads it, in small batches and many jobs
CARTBOT_DB_PASS=root ctl --db fresh --secrets "$TMP/fresh" migrate
check "a second database migrates" [ "$rc" -eq 0 ]
ctl --db fresh --secrets "$TMP/fresh" --if-empty --batch 7 --jobs 3 \
    import "$SAMPLE"
check_rc "--if-empty on an empty table imports (batch 7, 3 jobs)" 0 \
    "$TMP/out" \
    "^import: $NSAMPLE created, 0 updated, 0 unchanged, 0 rejected$"
check "progress in tenths with small batches" \
    [ "$(grep -c '^import: [0-9]*/[0-9]* rows' "$TMP/err")" -ge 10 ]

# a row the database refuses (a rule the file checks do not know)
curl -sS -H 'Accept: application/json' -u root:root \
    -H 'surreal-ns: production' -H 'surreal-db: fresh' --data-binary \
    "DEFINE FIELD OVERWRITE specs ON product TYPE option<string>
         ASSERT \$value = NONE OR !string::contains(\$value, 'FORBIDDEN');" \
    "$URL/sql" >/dev/null
printf '[\n{"id": "r1", "name": "R one", "price": 1},\n{"id": "r2", "name": "R two", "price": 1,\n "specs": "FORBIDDEN"},\n{"id": "r3", "name": "R three", "price": 1}\n]\n' \
    >"$TMP/refused.json"
ctl --db fresh --secrets "$TMP/fresh" import "$TMP/refused.json"
check_rc "a row the database refuses: exit 1, the others land" 1 \
    "$TMP/out" '^import: 2 created, 0 updated, 0 unchanged, 1 rejected$'
check "the refused row is reported by its line with the database's reason" \
    has "$TMP/out" "^line 3: the database refused it: .*FORBIDDEN"

if command -v script >/dev/null 2>&1; then
    script -qec "$CTL --db fresh --secrets $TMP/fresh import $SAMPLE" \
        /dev/null >"$TMP/tty" 2>&1
    check "a progress bar on a terminal" \
        grep -q "import \[#\{30\}\] $NSAMPLE/$NSAMPLE 100%" "$TMP/tty"
fi

# ------------------------------------------------- changed and failed files

cp -r "$MIGRATIONS" "$TMP/mig"
echo "-- tampered" >>"$TMP/mig/$(cd "$MIGRATIONS" && ls *.surql | head -n 2 | tail -n 1)"
printf 'DEFINE TABLE OVERWRITE zz_new SCHEMAFULL;\n' >"$TMP/mig/9998_new.surql"
CARTBOT_DB_PASS=root ctl --migrations "$TMP/mig" migrate
check "a changed applied migration is refused (exit 1)" [ "$rc" -eq 1 ]
check "the refusal names the file and says it changed" \
    has "$TMP/err" "migration $(cd "$MIGRATIONS" && ls *.surql | head -n 2 | tail -n 1) changed after it was applied"
check "nothing is applied when a migration changed" \
    hasnt "$TMP/out" '^applied '

cp "$MIGRATIONS"/*.surql "$TMP/mig/"
printf 'DEFINE TABLE OVERWRITE zz_bad SCHEMAFULL;\nSELECT * FROM nosuch_table;\n' \
    >"$TMP/mig/9999_bad.surql"
CARTBOT_DB_PASS=root ctl --migrations "$TMP/mig" migrate
check "a failing statement fails migrate (exit 1)" [ "$rc" -eq 1 ]
check "the failing statement's message is printed" \
    has "$TMP/err" "9999_bad.surql failed: statement 2 of 2 failed: .*nosuch_table"
check "the files before it were applied" \
    has "$TMP/out" '^applied  9998_new.surql'
CARTBOT_DB_PASS=root ctl --migrations "$TMP/mig" migrate
check "a failed migration is not recorded (tried again)" \
    has "$TMP/err" "9999_bad.surql failed"

printf 'DEFINE TABLE OVERWRITE zz SCHEMAFULL;\nCREATE nosuchfn::x();\n' \
    >"$TMP/mig/9999_bad.surql"
CARTBOT_DB_PASS=root ctl --migrations "$TMP/mig" migrate
check_rc "a parse error fails migrate with the server's message" 1 "$TMP/err" \
    'Parse error'

# --------------------------------------------------- configuration errors

CARTBOT_DB_PASS=wrong ctl migrate
check_rc "a wrong root password: exit 1, authentication message" 1 "$TMP/err" \
    'authentication failed'

ctl migrate
check_rc "no password: exit 2 with a clear message" 2 "$TMP/err" \
    'no database password'

ctl --pass-file "$TMP/nosuch" migrate
check "a missing password file: exit 2" [ "$rc" -eq 2 ]

ctl frobnicate
check_rc "unknown command: exit 2, usage on stderr" 2 "$TMP/err" \
    '^usage: cartbot-ctl'

ctl --frobnicate health
check_rc "unknown option: exit 2, usage on stderr" 2 "$TMP/err" \
    '^usage: cartbot-ctl'

ctl help
check_rc "help: exit 0, usage on stdout" 0 "$TMP/out" \
    '^usage: cartbot-ctl'

ctl import x.json
check_rc "import without --secrets: exit 2, says so" 2 "$TMP/err" \
    'give --secrets DIR'

ctl --secrets "$SECRETS" import
check_rc "import without a file: exit 2" 2 "$TMP/err" 'needs a FILE.json'

ctl --secrets "$SECRETS" --batch 0 import x.json
check_rc "import --batch 0: exit 2" 2 "$TMP/err" 'invalid --batch'

ctl --if-empty health
check_rc "--if-empty with another command: exit 2" 2 "$TMP/err" \
    'options of import'

# -------------------------------------------------------------- health

CARTBOT_DB_PASS=root ctl health
check "health: exit 0" [ "$rc" -eq 0 ]
check "health: exactly one line" [ "$(wc -l <"$TMP/out")" -eq 1 ]
check_rc "health: ok, version, latency" 0 "$TMP/out" \
    '^{"status":"ok","version":"surrealdb-3\.[^"]*","latency_ms":[0-9]\+}$'

CARTBOT_DB_PASS=wrong ctl health
check_rc "health with a wrong password: down, exit 1" 1 "$TMP/out" \
    '^{"status":"down","error":"authentication'

kill "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null
SPID=

CARTBOT_DB_PASS=root ctl health
check "health with the server stopped: exit 1" [ "$rc" -eq 1 ]
check "health with the server stopped: down JSON" \
    has "$TMP/out" '^{"status":"down","error":"cannot reach SurrealDB at '

CARTBOT_DB_PASS=root ctl migrate
check_rc "migrate with the server stopped: exit 1, clear message" 1 "$TMP/err" \
    'cannot reach SurrealDB'

finish
