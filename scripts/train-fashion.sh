#!/usr/bin/env bash
# `npm run train:fashion`: retrains models/fashion-mnist-cnn from Fashion-MNIST and rewrites
# its artifacts (model.json + .bin, model.onnx, parity fixture, demo samples, training.json),
# then measures each variant in the browser into card.json.
# Needs Debian's PyTorch and data set; installs them when run as root, else says what to install.
# CI never runs this: the trained artifacts are committed.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS="python3-torch libopenblas0-pthread dataset-fashion-mnist python3-onnx"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "train:fashion: installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "train:fashion: missing Debian packages:$missing" >&2
    echo "  install them with: sudo apt-get install -y$missing" >&2
    exit 1
  fi
fi
# Debian's own Python: python3-torch is built for it, not for other Pythons on the PATH.
/usr/bin/python3 models/fashion-mnist-cnn/train.py
# Accuracy and size of every variant, measured in the browser, into the card; then check the export.
npm run build
npm run measure:fashion
npx vitest run test/unit/fashion.test.ts
