#!/usr/bin/env bash
# Fashion-MNIST comes from Debian's package (MIT licence); it puts four idx .gz files in /usr/share/datasets.
set -euo pipefail
if [ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "installing Fashion-MNIST (apt-get install dataset-fashion-mnist)"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq dataset-fashion-mnist
