#!/usr/bin/env bash
# Build Brook's Flink functions jar (jobs/flink/functions/dev/...) against a Flink distribution's lib folder:
#   build.sh <flink lib dir> <output jar>
# Local mode passes PyPI's apache-flink lib (make flink-jars), the Flink image its base image's /opt/flink/lib, so
# the classes compile against the very runtime that loads them. Java 17 bytecode, as the image's JVM.
set -euo pipefail
lib=$1 out=$2
src=$(cd "$(dirname "$0")" && pwd)
classes=$(mktemp -d)
trap 'rm -rf "$classes"' EXIT
find "$src" -name '*.java' -print0 | xargs -0 javac -Xlint:all -Werror --release 17 -cp "$lib/*" -d "$classes"
mkdir -p "$(dirname "$out")"
jar --create --file "$out.tmp" --date=2026-01-01T00:00:00Z -C "$classes" .
mv "$out.tmp" "$out"
