"""Issue 23: every view fits the screen the suite runs on (1366×768 by default; set E2E_SCREEN
for scripts/e2e.sh to try others, e.g. 1920x1080x24): no horizontal scrolling of the page, the
status bar on screen, and a screenshot of each view named after the screen size."""

from __future__ import annotations

from conftest import wait_until

VIEWS = ["queue", "phone", "partners", "notifications", "audit", "settings"]


def test_every_view_fits_the_screen(demo_store, launch):
    desk = launch(demo_store)
    desk.one("#queue .queue-row")
    problems = []
    for view in VIEWS:
        desk.click(f"#nav-{view}")
        wait_until(lambda: desk.js("return document.querySelector('#nav-' + arguments[0]).getAttribute('aria-current') === 'page'", view),
                   5, what=f"the {view} view")
        geo = desk.js(
            "const b = document.getElementById('status-bar').getBoundingClientRect();"
            "const d = document.documentElement;"
            "return {w: window.innerWidth, h: window.innerHeight, sw: d.scrollWidth, sh: d.scrollHeight,"
            " bar_bottom: b.bottom, bar_h: b.height, screen: screen.width + 'x' + screen.height};"
        )
        print(f"\nVIEW {view}: {geo}")
        if geo["sw"] > geo["w"]:
            problems.append(f"{view}: the page scrolls sideways ({geo})")
        if not (geo["bar_h"] > 0 and geo["bar_bottom"] <= geo["h"]):
            problems.append(f"{view}: status bar cut off ({geo})")
        desk.screenshot(f"view-{view}-{geo['screen']}")
    assert not problems, problems
