"""Runs sdk_rest.mjs (every REST composable of the official SDK) against a server and turns its lines into
comparable answers (tests/e2e/answers.py). Shared by the recorder (record_directus.py) and the suite
(test_sdk_rest.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.e2e.answers import Answer, request_label, shape

E2E = Path(__file__).resolve().parent
EXPECTED = E2E / "expected" / "sdk_rest.json"


def answer(line: dict[str, Any]) -> Answer:
    """One driver line as an answer named ``who: call``; an error keeps its messages and codes."""
    body = shape(line["data"]) if line.get("ok") else {"errors": shape(line.get("errors"))}
    last: list[Any] = line["requests"][-1] if line.get("requests") else ["", "(no request)", None]
    return Answer(
        name=f"{line['as']}: {line['name']}",
        status=line.get("status"),
        body=body,
        request=request_label(str(last[0]), str(last[1])),
    )


def run(node: Path, base_url: str, admin_token: str, timeout: float = 240) -> tuple[list[Answer], str]:
    """The driver's answers against ``base_url``, and its error if it crashed (else "")."""
    result = subprocess.run(
        [str(node), str(E2E / "sdk_rest.mjs"), base_url, admin_token],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=E2E,
    )
    lines = [json.loads(text) for text in result.stdout.splitlines() if text.startswith("{")]
    crashed = next((line["error"] for line in lines if line["name"] == "crashed"), "")
    if result.returncode and not crashed:
        crashed = result.stderr[-2000:] or f"exit status {result.returncode}"
    return [answer(line) for line in lines if "as" in line], crashed
