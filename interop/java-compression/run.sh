#!/usr/bin/env bash
# Compression interop with the Java client (kafka-clients, see pom.xml).
#
#   ./run.sh generate   rewrite kafka-compression/tests/vectors from Java
#   ./run.sh verify     compress the vectors' records with kafka-compression and
#                       check that the Java codecs read them back
#
# Needs a JDK 17+, Maven and cargo. Set CARGO_TARGET_DIR to share a target dir.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
vectors="$root/kafka-compression/tests/vectors"
target="${CARGO_TARGET_DIR:-$root/target}"
ours="$target/interop-compression"

java_main() {
  (cd "$here" && mvn -q -B -Dstyle.color=never compile exec:java -Dexec.args="$*")
}

case "${1:-}" in
  generate)
    java_main generate "$vectors"
    ;;
  verify)
    rm -rf "$ours"
    (cd "$root" && cargo run -q -p kafka-compression --example interop_write -- "$vectors" "$ours")
    java_main verify "$vectors" "$ours"
    ;;
  *)
    echo "usage: $0 generate|verify" >&2
    exit 2
    ;;
esac
