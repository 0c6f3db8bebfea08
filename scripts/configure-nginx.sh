#!/bin/bash
# Runs nginx's configure in the current (private copy of an) nginx tree
# with Cartbot added as dynamic modules.  Debian's nginx-dev tree carries
# the flags its binary was built with (conf_flags): using them makes the
# modules' binary signature match /usr/sbin/nginx.  For another tree, pass
# that binary's flags in NGINX_CONFIGURE_ARGS (default: --with-compat).
set -euo pipefail

addon=$1

if [ -f ./conf_flags ]; then
    # shellcheck disable=SC1091
    . ./conf_flags
    flags=("${NGX_CONF_FLAGS[@]}")
    cc_opt="-g -O2 -fstack-protector-strong -Wformat -Werror=format-security -fPIC -Wdate-time -D_FORTIFY_SOURCE=2"
    ld_opt="-Wl,-z,relro -Wl,-z,now -fPIC"
else
    read -r -a flags <<< "${NGINX_CONFIGURE_ARGS:---with-compat}"
    cc_opt="-g -O2 -fPIC"
    ld_opt="-fPIC"
fi

if [ -x ./configure ]; then
    configure=./configure
else
    configure=./auto/configure
fi

"$configure" "${flags[@]}" --with-cc-opt="$cc_opt" --with-ld-opt="$ld_opt" \
    --add-dynamic-module="$addon" > configure.log 2>&1 || {
    tail -n 30 configure.log >&2
    echo "nginx configure failed; see $(pwd)/configure.log" >&2
    exit 1
}
echo "configured nginx in $(pwd) for $addon"
