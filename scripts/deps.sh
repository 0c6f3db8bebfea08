#!/bin/bash
# Installs what Cartbot needs to build, test and run, when it is missing:
# Debian packages (as root, through apt-get) and the dev database's npm
# packages (npm ci, from the lock file).  Safe to run again.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)

packages=(
    gcc make binutils
    nginx-core nginx-dev
    libyajl-dev libcurl4-openssl-dev libssl-dev libpcre2-dev zlib1g-dev
    perl nodejs npm curl procps openssl wrk
    chromium        # the web page's browser test (t/30-web.t)
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

# a node from elsewhere (nvm, NodeSource) is fine as long as it is 20+
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    major=$(node -p 'process.versions.node.split(".")[0]')
    if [ "$major" -ge 20 ]; then
        missing=("${missing[@]/nodejs}")
        missing=("${missing[@]/npm}")
    fi
fi

read -r -a missing <<< "${missing[*]:-}"

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # the distro's own nginx service is not ours: keep port 80 free
    if command -v systemctl >/dev/null 2>&1; then
        systemctl disable --now nginx >/dev/null 2>&1 || true
    fi
fi

# the dev database, and the browser test's driver (playwright-core drives
# Debian's chromium: no browser download)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
for dir in tools/surreal-dev t/web; do
    cd "$top/$dir"
    if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
        echo "installing the npm packages of $dir (npm ci)"
        npm ci --no-audit --no-fund --loglevel=error
    fi
done
