"""Data-quality characteristics of BMLL trades and L3 data, as Basalt analytics.

Modules ``trade_characteristics`` (:mod:`basalt_characteristics.trades`) and
``l3_characteristics`` (:mod:`basalt_characteristics.l3`), registered by the plugin module
:mod:`basalt_characteristics.hooks`. This package module imports nothing, so that loading the
plugin stays cheap.
"""

__all__: list[str] = []
