#!/usr/bin/env bash
# Regenerates api/gen/ from proto/: TypeScript types and gRPC stubs (ts-proto)
# and the field schema the Kubernetes-JSON codec walks (with the proto
# comments as descriptions, for the OpenAPI documents). Reproducible: the same
# proto files and package versions give the same output. Needs protoc
# (Debian: protobuf-compiler); the output is committed so builds do not.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v protoc >/dev/null; then
  echo "npm run gen needs protoc: apt-get install -y protobuf-compiler" >&2
  exit 1
fi
out=api/gen
rm -rf "$out" && mkdir -p "$out"
protoc \
  --plugin=protoc-gen-ts_proto=./node_modules/.bin/protoc-gen-ts_proto \
  --ts_proto_out="$out" \
  --ts_proto_opt=outputServices=grpc-js,env=node,forceLong=number,useOptionals=all,outputJsonMethods=false,outputPartialMethods=false,esModuleInterop=true,exportCommonSymbols=false,useDate=false,useJsonName=true \
  --descriptor_set_out="$out/descriptor.pb" --include_imports --include_source_info \
  -I proto proto/tsk/v1/*.proto
node scripts/gen-schema.cjs "$out/descriptor.pb" > "$out/schema.ts"
node scripts/gen-schema.cjs "$out/descriptor.pb" --descriptions > "$out/descriptions.ts"
rm "$out/descriptor.pb"
echo "generated $(ls "$out"/tsk/v1/*.ts "$out"/schema.ts | wc -l) files in $out"
