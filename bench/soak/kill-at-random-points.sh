#!/usr/bin/env bash
# The soak of the kill-at-random-points test: a silo process killed at 20 seeded random moments of
# creates, pauses, resumes and template creations (CI runs 4). The seed is printed; pass
# WRENN_CRASH_SEED=N to replay a run. Takes about 10 minutes under TCG.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export WRENN_CRASH_POINTS="${WRENN_CRASH_POINTS:-20}"
dotnet build tests/Wrenn.Silo.Tests -c Release -nologo -clp:ErrorsOnly
dotnet test tests/Wrenn.Silo.Tests -c Release --no-build --filter "FullyQualifiedName~KillAtRandomPointsTests" --logger "console;verbosity=detailed"
