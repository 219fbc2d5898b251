#!/usr/bin/env bash
# Regenerates the console screenshots in this folder from the current build: runs the console's browser tests
# (tests/CyberCoop.Console.Tests, headless /usr/bin/chromium against a running three-nation federation) with their
# screenshots written here. Run from anywhere: bash docs/console/update-screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
CYBERCOOP_CONSOLE_SCREENSHOTS="$PWD/docs/console" dotnet test tests/CyberCoop.Console.Tests --filter "FullyQualifiedName~ConsoleBrowserTests|FullyQualifiedName~ConsolePeerAdditionTests"
