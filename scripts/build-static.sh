#!/usr/bin/env bash
# Builds one fully static x86-64 Linux executable of kafka-pipe: the Swift runtime,
# FoundationEssentials, OpenSSL (libssl.a, libcrypto.a) and zlib (libz.a) linked in, no
# dynamic loader, no shared libraries. Usage:
#   scripts/build-static.sh [OUTPUT]        (default: .build/static/kafka-pipe)
# Environment: KP_STATIC_BUILD_DIR (SwiftPM build folder, default .build-static),
#              KP_STATIC_NO_STRIP=1 keeps the symbols;
#              KP_STATIC_OPT=size optimizes for size (-Osize: slower hot loops such as CRC-32C and
#              the codecs; the default optimizes for speed, ~23.6 MB stripped).
# What keeps it small: the product links no Foundation (FoundationEssentials alone was ~3.5 MB; the
# product uses WireCore's UnixTime and LocalFile instead) and no argument-parsing library.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-.build/static/kafka-pipe}"
build_dir="${KP_STATIC_BUILD_DIR:-.build-static}"

for lib in libssl.a libcrypto.a libz.a; do
    if ! compgen -G "/usr/lib/*-linux-gnu/$lib" >/dev/null && [ ! -f "/usr/lib/$lib" ]; then
        echo "build-static: $lib is missing (install libssl-dev and zlib1g-dev: scripts/install-deps.sh)" >&2
        exit 1
    fi
done

# -static-executable links everything statically, glibc included. glibc warns that a few
# functions (getpwuid_r, getaddrinfo for names) would need its NSS modules at run time: kafka-pipe
# resolves names through /etc/hosts and DNS, which glibc 2.34+ builds into libc itself. The Swift
# runtime of a static executable finds its own path through /proc/self/exe, so /proc must be mounted
# (every container runtime mounts it).
opt=()
[ "${KP_STATIC_OPT:-speed}" = size ] && opt=(-Xswiftc -Osize)
# lld with identical-code folding and section garbage collection: ~1 MiB smaller than gold.
swift build -c release --product kafka-pipe --build-path "$build_dir" ${opt[@]+"${opt[@]}"} \
    -Xswiftc -static-executable -Xswiftc -use-ld=lld \
    -Xlinker --gc-sections -Xlinker --icf=all \
    -Xlinker -lssl -Xlinker -lcrypto -Xlinker -lz \
    2> >(grep -v -e "statically linked applications requires at runtime" -e "is dangerous, better use" >&2)

bin="$build_dir/release/kafka-pipe"
# Foundation costs ~3.5 MB of the 25 MB budget: the shipped binary must not link it (tests may).
if nm "$bin" | grep -q -m1 -e '20FoundationEssentials' -e '22_FoundationCollections'; then
    echo "build-static: the product links Foundation (an import of FoundationEssentials in Sources/?)" >&2
    exit 1
fi
mkdir -p "$(dirname "$out")"
cp "$bin" "$out"
[ "${KP_STATIC_NO_STRIP:-0}" = 1 ] || strip "$out"
if file "$out" | grep -q "dynamically linked"; then
    echo "build-static: $out is dynamically linked" >&2
    exit 1
fi
size=$(stat -c %s "$out")
echo "build-static: $out ($((size / 1024 / 1024)) MiB, $(file -b "$out" | cut -d, -f1-2))"
