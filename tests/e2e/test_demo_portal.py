"""`evgate demo --portal`: after the billed month the portal stays up with working sign-ins."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(300)


def test_demo_keeps_the_portal_up_with_sign_ins_until_stopped(tmp_path: Path) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "config.cli", "demo", "--dir", str(tmp_path)]
        + ["--chargers", "1", "--subscribers", "3", "--seconds", "4", "--portal"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert demo.stdout is not None
    out: list[str] = []
    try:
        for line in demo.stdout:
            out.append(line)
            if "Press Ctrl-C" in line:
                break
        text = "".join(out)
        assert "Press Ctrl-C" in text, text[-2000:]
        base = re.search(r"The portal is at (http://\S+)/", text)
        password = re.search(r"super-admin: (\S+), password (\S+)", text)
        link = re.search(r"one-time link, 30 minutes\): (\S+)", text)
        assert base and password and link, text[-2000:]

        with httpx.Client(base_url=base.group(1)) as admin:
            page = admin.get("/sign-in")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert csrf, page.text
            signed = admin.post(
                "/sign-in",
                data={
                    "csrf": csrf.group(1),
                    "email": password.group(1),
                    "password": password.group(2),
                },
            )
            assert signed.status_code == 303, signed.text
            assert "demo-condo" in admin.get("/", follow_redirects=True).text

        with httpx.Client(base_url=base.group(1)) as subscriber:
            landing = subscriber.get(link.group(1))
            csrf = re.search(r'name="csrf" value="([^"]+)"', landing.text)
            assert landing.status_code == 200 and csrf, landing.text
            used = subscriber.post(link.group(1), data={"csrf": csrf.group(1)})
            assert used.status_code == 303 and used.headers["location"] == "/my", used.text
            my = subscriber.get("/my")
            # the link went to the subscriber of an invoice: the page lists it, as a PDF
            pdf = re.search(r'href="([^"]+/pdf)" download', my.text)
            assert my.status_code == 200 and pdf, my.text
            assert subscriber.get(pdf.group(1)).content.startswith(b"%PDF")

        demo.send_signal(signal.SIGTERM)
        rest, _ = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert demo.returncode == 0, rest[-2000:]
    assert "done in" in rest
    with pytest.raises(httpx.ConnectError):
        httpx.get(base.group(1) + "/sign-in", timeout=2)
