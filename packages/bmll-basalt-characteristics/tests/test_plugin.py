"""The plugin as installed: discovery, the CLI listing, a cheap hook module."""

from __future__ import annotations

import json
import subprocess
import sys

from basalt.plugins import Registry
from basalt.testing import CliInvoker
from basalt_characteristics.l3 import L3Characteristics
from basalt_characteristics.trades import TradeCharacteristics


def test_registered_through_the_entry_point(basalt_registry: Registry) -> None:
    assert basalt_registry.analytics["trade_characteristics"] is TradeCharacteristics
    assert basalt_registry.analytics["l3_characteristics"] is L3Characteristics
    assert basalt_registry.plugins["characteristics"].distribution == "bmll-basalt-characteristics"


def test_listed_by_the_cli(basalt_cli: CliInvoker) -> None:
    result = basalt_cli("plugins", "list", "--json")
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    [plugin] = [p for p in listing["plugins"] if p["name"] == "characteristics"]
    assert plugin["distribution"] == "bmll-basalt-characteristics"
    assert plugin["version"] == "0.1.0"
    assert plugin["registers"] == {"analytics": ["l3_characteristics", "trade_characteristics"]}
    assert listing["broken"] == []


def test_hook_module_defers_the_analytics() -> None:
    script = (
        "import sys, basalt_characteristics.hooks; "
        "print(sorted(m for m in sys.modules if m.startswith('basalt_characteristics')))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['basalt_characteristics', 'basalt_characteristics.hooks']"
