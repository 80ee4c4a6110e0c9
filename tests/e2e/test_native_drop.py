"""End-to-end: a referral PDF dragged from another program through the OS (X11 drag-and-drop,
XDND) onto the window. The synthetic HTML5 drop in test_desk.py covers the page's handler; this
one covers the native path: WebKitGTK/Tauri take the drop, Rust emits `native-drop` with the
file paths, the page calls `import_document_paths`. The drag source is a real GTK program
(tools/drag_source.py) driven by xdotool's real pointer events."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
import uuid
from pathlib import Path

from conftest import wait_until
from test_desk import stored_files, tiny_pdf

SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with PyGObject (python3-gi)
SOURCE = Path(__file__).parent / "tools" / "drag_source.py"
APP_TITLE = "Renkei Desk — 連携デスク"


def xdotool(*args, check=True) -> str:
    r = subprocess.run(["xdotool", *map(str, args)], capture_output=True, text=True, timeout=10)
    if check and r.returncode != 0:
        raise AssertionError(f"xdotool {args}: {r.stderr.strip()}")
    return r.stdout


def window_id(title: str) -> str:
    return wait_until(lambda: (xdotool("search", "--name", title, check=False).split() or [None])[0],
                      15, what=f"X window {title!r}")


def os_drag(path: Path) -> list[str]:
    """Drags `path` from the GTK source at the top left onto the app window; returns what the
    source printed (its drag signals)."""
    src = subprocess.Popen([SYSTEM_PYTHON, str(SOURCE), path.as_uri()],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert src.stdout.readline().strip() == "ready", src.stderr.read()
        xdotool("windowmove", window_id("renkei-drag-source"), 0, 0)
        xdotool("windowmove", window_id(APP_TITLE), 260, 0)
        time.sleep(0.5)
        xdotool("mousemove", 60, 50)
        time.sleep(0.2)
        xdotool("mousedown", 1)
        time.sleep(0.2)
        # Small steps: GTK starts a drag only after the pointer passes its drag threshold, and
        # the target sees XdndEnter/Position as the pointer crosses into the window.
        for i in range(1, 41):
            xdotool("mousemove", 60 + i * 15, 50 + i * 8)
            time.sleep(0.03)
        time.sleep(0.4)
        xdotool("mouseup", 1)
        time.sleep(1.0)
    finally:
        src.terminate()
        out, err = src.communicate(timeout=10)
    return out.split()


def last_drop(desk):
    raw = wait_until(lambda: desk.js("return document.body.dataset.lastDrop"), 10,
                     what="body[data-last-drop] after the native drop")
    return json.loads(raw)


def test_native_os_drop_of_a_pdf_creates_a_consultation_and_refuses_a_fake(demo_store, launch, tmp_path):
    desk = launch(demo_store)
    desk.one("#queue .queue-row")
    before = demo_store.queue_ids("--all")
    pdf = tiny_pdf(f"NATIVE {uuid.uuid4()}")
    path = tmp_path / "紹介状_ネイティブ.pdf"
    path.write_bytes(pdf)

    signals = os_drag(path)
    assert "drag-begin" in signals and "drag-data-get" in signals, signals
    last = last_drop(desk)
    assert len(last) == 1 and last[0]["name"] == path.name and last[0]["code"] is None, last
    cid = last[0]["id"]
    assert cid not in before
    desk.one(f"#queue .queue-row[data-id='{cid}'] .clip", timeout=5)
    wait_until(lambda: desk.selected_id() == cid, 3, what="new row selected")
    assert [t for t in desk.toasts() if t["kind"] == "ok"], desk.toasts()
    att = demo_store.show(cid)["attachments"]
    assert len(att) == 1 and att[0]["name"] == path.name
    assert att[0]["sha256"] == hashlib.sha256(pdf).hexdigest() and att[0]["media_type"] == "application/pdf"
    desk.screenshot("native-drop")

    # A text file named .pdf, dropped the same way: refused visibly, nothing stored.
    queue_before, files_before = demo_store.queue_ids("--all"), stored_files(demo_store)
    desk.js("document.body.dataset.lastDrop = ''; document.getElementById('toast').replaceChildren();")
    fake = tmp_path / "偽物.pdf"
    fake.write_bytes("これはPDFではありません\n".encode() * 20)
    os_drag(fake)
    last = last_drop(desk)
    assert last[0]["id"] is None and last[0]["code"], last
    err = wait_until(lambda: [t for t in desk.toasts() if t["kind"] == "error"], 5, what="#toast error")
    assert "偽物.pdf" in err[0]["text"], err
    time.sleep(0.3)
    assert demo_store.queue_ids("--all") == queue_before
    assert stored_files(demo_store) == files_before
