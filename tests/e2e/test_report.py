"""Issue 22: the handover and the operations report in the app, checked against the CLI's JSON
over the same demo store, with a screenshot."""

from __future__ import annotations

from conftest import wait_until


def test_handover_and_report_match_the_cli(demo_store, launch):
    desk = launch(demo_store)
    desk.one("#queue .queue-row")
    desk.click("#nav-report")
    desk.one("#view-report")
    # The handover: the counts-only summary line is the core's, word for word.
    cli_ho = demo_store.cli("handover", "--json", json_out=True)
    summary = wait_until(lambda: desk.text("#handover-summary"), 10, what="#handover-summary")
    assert summary == cli_ho["summary"], (summary, cli_ho["summary"])
    # The report over the demo's two days, entered like a user would.
    desk.js("document.getElementById('report-from').value = '2026-11-30';"
            "document.getElementById('report-to').value = '2026-12-01';")
    desk.click("#report-run")
    cli = demo_store.cli("report", "--from", "2026-11-30", "--to", "2026-12-01", "--json", json_out=True)
    assert cli["total"] > 0
    rows = wait_until(
        lambda: desk.js("return [...document.querySelectorAll('#report-arrivals-table tbody tr')].map(r => [...r.cells].map(c => c.textContent.trim()))")
        if desk.js("return (document.getElementById('report-summary')?.textContent || '').includes(arguments[0])", str(cli["total"])) else None,
        10, what="the report for 2026-11-30..12-01")
    counts = [int(r[1]) for r in rows]  # columns: date, arrivals, notifications
    assert counts == [d["count"] for d in cli["arrivals_per_day"]], (rows, cli["arrivals_per_day"])
    assert desk.q("#report-arrivals-chart svg, svg#report-arrivals-chart"), "the arrivals chart is drawn"
    assert desk.q("#report-heatmap-chart svg, svg#report-heatmap-chart"), "the heat map is drawn"
    csv = desk.attr("#report-arrivals-csv", "href") or ""
    assert csv.startswith("data:text/csv"), csv[:40]
    desk.screenshot("report")
