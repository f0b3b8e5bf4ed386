"""Audit the installed dependencies with pip-audit: `make audit` (also run by `make test`).

Fails (exit 1) on a known vulnerability not accepted in docs/pip-audit-accepted.txt. When the
vulnerability service cannot be reached (an offline machine, or a package mirror that serves no
vulnerability data), prints so and exits 0: an unreachable service must not fail the tests, but
must not pass for a clean audit either.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACCEPTED = ROOT / "docs" / "pip-audit-accepted.txt"


def accepted_ids(path: Path = ACCEPTED) -> list[str]:
    """Vulnerability ids accepted on purpose: the first word of each line; `#` starts a comment."""
    if not path.is_file():
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line.split()[0] for line in lines if line]


def main() -> int:
    command = [sys.executable, "-m", "pip_audit", "--format", "json", "--progress-spinner", "off",
               "--skip-editable", "--timeout", "20"]  # fmt: skip
    for vuln in accepted_ids():
        command += ["--ignore-vuln", vuln]
    run = subprocess.run(command, capture_output=True, text=True)
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        reason = (run.stderr.strip().splitlines() or ["no output"])[-1]
        print(
            f"pip-audit: the vulnerability service could not be reached; dependencies NOT audited ({reason[:200]})"
        )
        return 0
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = len(dependencies) - len(skipped)
    if dependencies and audited == 0:
        print(f"pip-audit: the vulnerability service answered for none of the {len(dependencies)} dependencies "
              f"(e.g. {skipped[0]['skip_reason']}); dependencies NOT audited")  # fmt: skip
        return 0
    found = [(d["name"], d["version"], v) for d in dependencies for v in d.get("vulns", [])]
    for name, version, vuln in found:
        fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed version"
        print(f"pip-audit: {name} {version}: {vuln['id']} (fixed in {fixes})")
    note = f", {len(skipped)} could not be audited" if skipped else ""
    print(f"pip-audit: {audited} dependencies audited{note}; {len(found)} unaccepted vulnerabilities "
          f"({len(accepted_ids())} accepted in {ACCEPTED.relative_to(ROOT)})")  # fmt: skip
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
