#!/usr/bin/env bash
# Regenerates Sources/Proto/Generated from Sources/Proto/zentoria/v1/*.proto with Debian's protoc
# and the plugins of the pinned swift-protobuf and grpc-swift-protobuf (built once, in release,
# from scripts/codegen). The output is committed; the build never runs protoc.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

ensure_packages protoc:protobuf-compiler
tools=scripts/codegen
log "building protoc plugins (release, once)"
swift build -c release --package-path "$tools" --product protoc-gen-swift >/dev/null
swift build -c release --package-path "$tools" --product protoc-gen-grpc-swift-2 >/dev/null
bin=$(swift build -c release --package-path "$tools" --show-bin-path)

out=Sources/Proto/Generated
rm -rf "$out"
mkdir -p "$out"
protoc \
    --proto_path=Sources/Proto \
    --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
    --swift_out="$out" \
    --swift_opt=Visibility=Package,FileNaming=DropPath \
    --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2" \
    --grpc-swift-2_out="$out" \
    --grpc-swift-2_opt=Visibility=Package,FileNaming=DropPath,Server=true,Client=true \
    Sources/Proto/zentoria/v1/*.proto
log "generated: $(ls "$out" | tr '\n' ' ')"
