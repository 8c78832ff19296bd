"""A queue page past the end (an old link, a typed number) shows the last page, not "trang 99/2"
with nothing on it and no way back."""
from __future__ import annotations

from tests.console.conftest import ConsoleDB, login


async def test_page_past_the_end_shows_the_last_page(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("tt.lan", "center")
    made = [await console_db.add_report(status="forwarded") for _ in range(3)]
    client = await console_client(console_db, page_size=2)
    await login(client, "tt.lan")
    html = await (await client.get("/console/", params={"page": "99"})).text()
    assert "trang 99/" not in html and "trang 2/2" in html
    assert made[-1].code in html and 'rel="prev"' in html
