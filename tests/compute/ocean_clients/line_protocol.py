"""The drivers' pipe protocol: one JSON command a line on stdin, one JSON answer a line on stdout.

Runs inside the clients' own virtualenvs (stdlib only). The libraries print as they sign, so the
answers keep the real stdout and everything else goes to stderr (the test's log file).
"""

import json
import sys


def serve(run) -> None:
    """Answer each command with {"ok": run(command)} or {"error": "<exception>: <message>"}."""
    answers, sys.stdout = sys.stdout, sys.stderr
    for line in sys.stdin:
        try:
            answer = {"ok": run(json.loads(line))}
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the test, which decides
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
