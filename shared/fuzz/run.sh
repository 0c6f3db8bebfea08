#!/bin/sh
#
# Builds the libFuzzer harnesses of the JWT core into build/fuzz/ and runs
# one for a while.
#
#   shared/fuzz/run.sh [seconds] [jwt|jwks]   fuzz (default: 120 s, jwt)
#   shared/fuzz/run.sh corpus                 rewrite corpus/jwt/ (seeds)
#
# Needs clang-14 with libFuzzer (Debian: apt-get install clang-14
# libclang-rt-14-dev), libyajl-dev and libssl-dev.  New inputs go to
# build/fuzz/corpus/<target>/, findings to build/fuzz/crash-* etc.; the
# committed seeds in shared/fuzz/corpus/ are only read.

set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
fuzz=$top/shared/fuzz
out=$top/build/fuzz
cc=${CC:-clang-14}

core="$top/shared/cartbot_buf.c $top/shared/cartbot_json.c
      $top/shared/cartbot_base64.c $top/shared/cartbot_jwt.c"
flags="-g -O1 -std=gnu11 -Wall -Wextra -fno-omit-frame-pointer
       -I$top/shared -DCARTBOT_FUZZ_KEYS=\"$fuzz/keys\""
libs="-lyajl -lcrypto"

command -v "$cc" >/dev/null || {
    echo "$cc not found: apt-get install clang-14 libclang-rt-14-dev" >&2
    exit 1
}

mkdir -p "$out"

if [ "${1:-}" = corpus ]; then
    $cc $flags -o "$out/make_corpus" "$fuzz/make_corpus.c" $core $libs
    rm -f "$fuzz"/corpus/jwt/*
    "$out/make_corpus" "$fuzz/keys" "$fuzz/corpus/jwt"
    ls "$fuzz/corpus/jwt"
    exit 0
fi

seconds=${1:-120}
target=${2:-jwt}

case $target in
jwt|jwks) ;;
*) echo "usage: $0 [seconds] [jwt|jwks] | corpus" >&2; exit 2 ;;
esac

san="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"

# shellcheck disable=SC2086
$cc $flags $san -o "$out/fuzz_$target" "$fuzz/fuzz_$target.c" $core $libs

dict=
[ -f "$fuzz/$target.dict" ] && dict="-dict=$fuzz/$target.dict"

mkdir -p "$out/corpus/$target"

cd "$out"

# the longest inputs reach past the 8 KB token limit
exec "./fuzz_$target" -max_total_time="$seconds" -max_len=12000 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/" $dict \
    "$out/corpus/$target" "$fuzz/corpus/$target"
