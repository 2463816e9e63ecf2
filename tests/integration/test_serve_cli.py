"""``mjdash serve`` without a browser: what it refuses, and that Ctrl-C stops it cleanly."""

from __future__ import annotations

from pathlib import Path

import httpx

from mjdash.sim.server import Simulator
from tests.conftest import SIM_KEY, run_cli
from tests.serving import serving


def _env(sim: Simulator, tmp_path: Path) -> dict[str, str]:
    return {"MJDASH_BASE_URL": sim.url, "KIE_API_KEY": SIM_KEY, "MJDASH_DB": str(tmp_path / "w.db")}


def test_another_machines_address_needs_public(sim: Simulator, tmp_path: Path) -> None:
    result = run_cli("serve", "--host", "0.0.0.0", env=_env(sim, tmp_path))
    assert result.returncode == 2 and result.stdout == ""
    assert "anyone who can reach the port sees the watchlist and can act on it" in result.stderr
    assert "--public" in result.stderr and "Traceback" not in result.stderr
    assert run_cli("serve", "--port", "70000", env=_env(sim, tmp_path)).returncode == 2


def test_foreign_hosts_and_origins_are_refused_and_ctrl_c_stops_it(sim: Simulator, tmp_path: Path) -> None:
    with serving(_env(sim, tmp_path)) as served:
        page = httpx.get(served.url + "/")
        assert page.status_code == 200 and "fonts.googleapis.com" not in page.text
        assert f"{served.url.replace('http', 'ws')}/ws" in page.text
        rebound = httpx.get(served.url + "/", headers={"Host": "attacker.example"})  # DNS rebinding
        assert rebound.status_code == 403
        hijack = httpx.get(
            served.url + "/ws",
            headers={"Origin": "http://attacker.example", "Upgrade": "websocket", "Connection": "Upgrade"},
        )
        assert hijack.status_code == 403  # a page elsewhere cannot drive the dashboard
        status, out, err = served.stop()
    assert status == 0 and out.endswith("mjdash serve: stopped\n")
    assert "Traceback" not in err and SIM_KEY not in out + err
