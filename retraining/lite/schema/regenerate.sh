#!/usr/bin/env bash
# Generates metadata_schema_py_generated.py again from metadata_schema.fbs,
# byte for byte, and fails if the result differs from the file in git:
#
#   apt-get install flatbuffers-compiler   # flatc 2.0.8 (Debian 12)
#   bash retraining/lite/schema/regenerate.sh
#
# metadata_schema.fbs is the copy the mediapipe 1.2.3 wheel ships
# (mediapipe/tasks/metadata/metadata_schema.fbs): the maintained copy of
# tensorflow/tflite-support's metadata schema, and the one MediaPipe Tasks
# read metadata with.
set -euo pipefail
cd "$(dirname "$0")"
FBS_SHA256=54f0cc99a87d56045bc32ad177bf5d02a29836416493cab3e98a06057b60797b
FLATC_VERSION='flatc version 2.0.8'
echo "$FBS_SHA256  metadata_schema.fbs" | sha256sum --check --quiet
if [ "$(flatc --version)" != "$FLATC_VERSION" ]; then
  echo "regenerate.sh: needs $FLATC_VERSION, found: $(flatc --version)" >&2
  exit 1
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flatc --python --gen-object-api --gen-onefile -o "$out" metadata_schema.fbs 2>/dev/null
{ sed -n '1,/^# It needs only/p' metadata_schema_py_generated.py; echo
  cat "$out/metadata_schema_generated.py"; } > "$out/generated.py"
if cmp -s "$out/generated.py" metadata_schema_py_generated.py; then
  echo "metadata_schema_py_generated.py is what flatc generates"
else
  cp "$out/generated.py" metadata_schema_py_generated.py
  echo "metadata_schema_py_generated.py written anew: review the diff" >&2
fi
