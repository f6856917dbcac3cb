"""A real Chromium driven by Playwright for the web UI's end-to-end tests.

Debian's Chromium (`/usr/bin/chromium`) is installed with apt-get where it is missing
(Playwright cannot download browsers here). Every page a test opens records what would be a
bug a user could see: a console error, an uncaught exception, a request that failed or an
answer >= 400 that the test did not say it expects. `Watch.assert_clean()` fails the test on
any of them; `axe()` runs axe-core on the page and returns serious or critical violations.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = Path(os.environ.get("FLOWFORGE_CHROMIUM", "/usr/bin/chromium"))
AXE = Path(__file__).resolve().parents[1] / "services/gateway/ui/node_modules/axe-core/axe.min.js"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def ensure_chromium() -> str:
    """Chromium's path, installing Debian's package first when it is missing."""
    if CHROMIUM.exists():
        return str(CHROMIUM)
    if shutil.which("apt-get") is None:
        raise RuntimeError(f"no Chromium at {CHROMIUM} and no apt-get to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    output = ""
    for command in (["apt-get", "install", "-y", "-q", "chromium"],
                    ["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "chromium"]):  # fmt: skip
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200)
        output = done.stdout + done.stderr
        if CHROMIUM.exists():
            return str(CHROMIUM)
    raise RuntimeError(f"could not install Chromium with apt-get:\n{output[-2000:]}")


@dataclass
class Watch:
    """What went wrong on a page, as a user would have seen it."""

    problems: list[str] = field(default_factory=list)
    expected: set[tuple[int, str]] = field(default_factory=set)  # (status, path) allowed

    def attach(self, page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"uncaught: {exc}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def expect(self, status: int, path: str) -> None:
        self.expected.add((status, path))

    def _console(self, message) -> None:
        if message.type == "error":
            # The browser's own line for an answer >= 400 repeats what _response judges.
            if "Failed to load resource" in message.text:
                return
            self.problems.append(f"console error: {message.text}")

    def _failed(self, request) -> None:
        failure = request.failure or ""
        # Leaving a page cancels its requests (the live stream among them): not a failure.
        if "ERR_ABORTED" in failure:
            return
        self.problems.append(f"request failed: {request.method} {request.url}: {failure}")

    def _response(self, response) -> None:
        if response.status < 400:
            return
        path = "/" + response.url.split("://", 1)[1].split("/", 1)[1].split("?")[0]
        if (response.status, path) in self.expected:
            return
        self.problems.append(f"HTTP {response.status}: {response.request.method} {path}")

    def assert_clean(self) -> None:
        assert not self.problems, "the page showed problems:\n" + "\n".join(self.problems)


def sign_in(page, home: Path) -> None:
    """Sign in on the UI as the first admin of the platform whose FLOWFORGE_HOME is `home`,
    and wait for the dashboard."""
    page.goto("/")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill((home / "admin.password").read_text().strip())
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Dashboard", level=1).wait_for()


def axe(page) -> list[str]:
    """Serious and critical accessibility violations of the page as it is now (axe-core)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the page's CSP (no inline script) stands.
        page.evaluate(AXE.read_text())
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => `${v.impact} ${v.id}: ${v.help} (${v.nodes.slice(0, 3)"
        ".map(n => n.target.join(' ')).join(', ')})`)"
    )
    return list(found)
