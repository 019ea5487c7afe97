"""The dashboard in a real headless Chromium: log in to the admin, open it, see the charts drawn
with the figures of the API, filter by shop, start a new counting period. The screenshot is kept
as a test artifact (var/test-artifacts/dashboard.png, or TEST_ARTIFACTS_DIR)."""

import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from seller.models import MetricsPeriod

from .history import seed

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", Path(__file__).resolve().parents[2] / "var" / "test-artifacts"))
CHARTS = ["chart-outcomes", "chart-blocked", "chart-generation", "chart-shops", "chart-lift", "chart-attributed"]

# Each chart's painted pixels: a blank canvas has none.
PAINTED = """id => {
  const canvas = document.getElementById(id);
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  return painted;
}"""


@pytest.fixture
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (bash .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    return sync_playwright, CHROMIUM


@contextmanager
def admin_page(chromium, live_server, width: int, height: int):
    """A headless Chromium page logged in to the admin as `ops` (password `ops-password`)."""
    sync_playwright, executable = chromium
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(f"{live_server.url}/admin/")
        page.fill("#id_username", "ops")
        page.fill("#id_password", "ops-password")
        page.click("input[type=submit]")
        try:
            yield page
        finally:
            browser.close()


@pytest.mark.django_db(transaction=True)
def test_an_operator_sees_the_charts_filters_by_shop_and_resets(live_server, chromium, admin_user):
    tech, kitchen = seed(days=14)
    client = APIClient()
    client.force_authenticate(admin_user)
    expected = client.get("/ai-seller/metrics?days=14").json()
    with admin_page(chromium, live_server, 1400, 1250) as page:
        page.click("text=AI seller dashboard")
        page.select_option("#id_days", "14")
        page.click("input[value=Show]")
        page.wait_for_function("ids => ids.every(id => Chart.getChart(id))", arg=CHARTS)
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

        heading = page.inner_text("#content h1")
        painted = {chart: page.evaluate(PAINTED, chart) for chart in CHARTS}
        sent_per_day = page.evaluate("Chart.getChart('chart-outcomes').data.datasets[0].data")
        # Where the delivered and read lines are drawn, read back on the axis: they must not stack.
        lines_drawn = page.evaluate("""() => { const chart = Chart.getChart('chart-outcomes');
            return [4, 5].map(n => chart.getDatasetMeta(n).data.map(p => Math.round(chart.scales.y.getValueForPixel(p.y)))); }""")
        blocked_labels = page.evaluate("Chart.getChart('chart-blocked').data.labels")
        sent_card = page.inner_text("#figures .figure:first-child b")
        attributed_per_day = page.evaluate("Chart.getChart('chart-attributed').data.datasets[0].data")
        lift_card = page.inner_text("#lift b")

        page.select_option("#id_shop", label="Kitchen KZ")
        page.click("input[value=Show]")
        page.wait_for_function("ids => ids.every(id => Chart.getChart(id))", arg=CHARTS)
        shops_after_filter = page.evaluate("Chart.getChart('chart-shops').data.labels")

        page.click("input[name=reset]")
        notice = page.inner_text(".messagelist")
        sent_since_reset = page.inner_text("#figures .figure:first-child b")

    assert heading == "AI seller dashboard"
    assert all(pixels > 2000 for pixels in painted.values()), painted
    assert sent_per_day == [day["sent"] for day in expected["by_day"]] and sum(sent_per_day) == expected["sent"] > 0
    assert lines_drawn == [[day["delivered"] for day in expected["by_day"]], [day["read"] for day in expected["by_day"]]]
    assert sorted(blocked_labels) == sorted(expected["blocked"])
    assert sent_card == str(expected["sent"])
    assert attributed_per_day == [day["attribution"]["revenue"] for day in expected["by_day"]]
    assert sum(attributed_per_day) == expected["attribution"]["revenue"] > 0
    assert expected["holdout"]["customers"] > 0 and lift_card == "not enough data yet"  # a few dozen customers
    assert shops_after_filter == ["Kitchen KZ"]
    assert "nothing was deleted" in notice
    assert sent_since_reset == "0"
    assert MetricsPeriod.objects.count() == 1
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 20_000


def test_the_dashboard_is_only_for_staff(client, django_user_model):
    assert client.get("/admin/dashboard/").status_code == 302
    client.force_login(django_user_model.objects.create_user("merchant", password="pw"))
    assert client.get("/admin/dashboard/")["Location"].startswith("/admin/login/")
