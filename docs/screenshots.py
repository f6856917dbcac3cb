"""Screenshots of the web UI's main pages for docs/ and the README (docs/img/ui-*.png).

    .venv/bin/python docs/screenshots.py               # starts `flowforge up --demo` itself
    .venv/bin/python docs/screenshots.py --url http://127.0.0.1:8000 --home .flowforge

It signs in as the first admin, visits each page at 1280x800 (the dashboard and a run's page
also at 390x844, a phone) and writes PNGs. Chromium is Debian's (installed when missing).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import ARGS, ensure_chromium, sign_in  # noqa: E402

OUT = ROOT / "docs" / "img"


def start_demo(home: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "FLOWFORGE_HOME": str(home), "FLOWFORGE_PORT": str(port)}
    log = open(home.parent / "up.log", "wb")  # noqa: SIM115 - as long as the process
    process = subprocess.Popen(
        [sys.executable, "-m", "flowforge.cli.main", "up", "--demo"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            key = (home / "admin.key").read_text().strip()
            models = httpx.get(f"{url}/api/v1/models", headers={"Authorization": f"Bearer {key}"})
            if models.status_code == 200 and any(m["built"] for m in models.json()["models"]):
                return process
        except (OSError, httpx.HTTPError, KeyError):
            pass
        time.sleep(1)
    raise SystemExit(f"the demo platform did not come up; see {home.parent / 'up.log'}")


def shoot(url: str, home: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    key = (home / "admin.key").read_text().strip()
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"})
    dataset = api.get("/api/v1/datasets").json()["datasets"][0]["name"]
    run_id = api.get("/api/v1/runs", params={"limit": 1}).json()["runs"][0]["run_id"]
    model = api.get("/api/v1/models").json()["models"][0]["name"]
    OUT.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=ensure_chromium(), args=ARGS)
        for width, height, suffix in ((1280, 800, ""), (390, 844, "-phone")):
            context = browser.new_context(
                base_url=url, viewport={"width": width, "height": height}, device_scale_factor=1
            )
            page = context.new_page()
            sign_in(page, home)
            pages = [("dashboard", "/"), ("run", f"/runs/{run_id}")]
            if not suffix:
                pages += [
                    ("runs", "/runs"),
                    ("dataset", f"/datasets/{dataset}?tab=schema"),
                    ("profile", f"/datasets/{dataset}?tab=profile"),
                    ("quality", f"/datasets/{dataset}?tab=quality"),
                    ("lineage", f"/lineage/{dataset}"),
                    ("model", f"/models/{model}"),
                    ("sql", "/sql"),
                    ("upload", "/upload"),
                    ("workflows", "/workflows"),
                    ("sources", "/sources"),
                ]
            for name, path in pages:
                page.goto(path)
                # The live stream keeps a request open: wait for the page, not the network.
                page.locator("main h1").first.wait_for()
                page.wait_for_timeout(1500)
                if name == "sql":
                    editor = page.get_by_role("textbox", name="SQL query")
                    editor.click()
                    page.keyboard.press("Control+A")
                    page.keyboard.type(f"SELECT * FROM {dataset} LIMIT 50")
                    page.get_by_role("button", name="Run query").click()
                    page.get_by_role("region", name="Query results").wait_for()
                page.wait_for_timeout(500)  # charts and the graph settle
                target = OUT / f"ui-{name}{suffix}.png"
                page.screenshot(path=str(target))
                written.append(target)
            context.close()
        browser.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running platform (default: start a demo one)")
    parser.add_argument("--home", type=Path, help="its FLOWFORGE_HOME (for the admin password)")
    args = parser.parse_args()
    process = None
    if args.url:
        url, home = args.url, (args.home or Path(".flowforge")).resolve()
    else:
        from flowforge.cli.ports import free_port

        home = Path(tempfile.mkdtemp(prefix="ff-shots-")) / "home"
        home.mkdir()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        print(f"starting a demo platform on {url} ...")
        process = start_demo(home, port)
    try:
        for path in shoot(url, home):
            print(path.relative_to(ROOT))
    finally:
        if process is not None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
