"""How the passes of a pipeline feed each other.

Each input a module reads (:meth:`~basalt.analytic.Analytic.inputs`) comes from a source: a
lake table, or an earlier pass or one of its side outputs (``pass:side``), whose written
output is read back for the days of a task (``module_inputs`` redirects an input to another
source). A pass that reads lake tables runs
per day and symbol batch, and reads its earlier-pass inputs for the batch's listings and day.
A pass that reads only earlier passes is *derived*: it runs once per output partition, over
everything the earlier passes wrote for its dates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from basalt.config.models import AnalyticsConfig, PassConfig
    from basalt.plugins import Registry

__all__ = ["module_sources", "pass_sources", "reads_lake", "side_outputs", "source_problems"]


def module_sources(pass_config: PassConfig, module: str, registry: Registry) -> dict[str, str]:
    """Input name → source of ``module`` in ``pass_config``."""
    inputs = registry.analytics[module]().inputs(pass_config.module_config(module))
    return pass_config.module_sources(module, inputs)


def pass_sources(pass_config: PassConfig, registry: Registry) -> list[str]:
    """Every source the modules of ``pass_config`` read, in order, once each."""
    sources = (
        source
        for module in pass_config.modules
        for source in module_sources(pass_config, module, registry).values()
    )
    return list(dict.fromkeys(sources))


def reads_lake(pass_config: PassConfig, registry: Registry) -> bool:
    """Whether some module of ``pass_config`` reads a lake table (else the pass is derived)."""
    return any(source in registry.tables for source in pass_sources(pass_config, registry))


def side_outputs(passes: Sequence[PassConfig], registry: Registry) -> list[str]:
    """``pass:side`` of every side output the modules of ``passes`` declare."""
    return [
        f"{p.name}:{side}"
        for p in passes
        for m in p.modules
        for side in registry.analytics[m].emits
    ]


def source_problems(config: AnalyticsConfig, registry: Registry) -> list[str]:
    """What is wrong with how the passes of ``config`` find their inputs, one line each."""
    problems = []
    for index, pass_config in enumerate(config.PASSES):
        earlier = [p.name for p in config.PASSES[:index]]
        where = f"PASSES[{index}]"
        if pass_config.name in registry.tables:
            problems.append(
                f"{where}.name: {pass_config.name!r} is the name of an input table; later "
                "modules would read the pass instead of the table: choose another name"
            )
        for module, mapped in pass_config.module_inputs.items():
            if module not in pass_config.modules:
                problems.append(f"{where}.module_inputs: {module!r} is not a module of the pass")
                continue
            inputs = registry.analytics[module]().inputs(pass_config.module_config(module))
            named = list(mapped) if isinstance(mapped, dict) else list(inputs[:1]) or ["any"]
            unknown = [name for name in named if name not in inputs]
            if unknown:
                problems.append(
                    f"{where}.module_inputs.{module}: module {module!r} has no input "
                    f"{', '.join(unknown)} (its inputs: {', '.join(inputs) or 'none'})"
                )
        readable = [*earlier, *side_outputs(config.PASSES[:index], registry)]
        for module in pass_config.modules:
            options = pass_config.module_config(module)
            for problem in registry.analytics[module]().config_problems(options):
                problems.append(f"{where}.{module}: {problem}")
            for name, source in module_sources(pass_config, module, registry).items():
                if source not in registry.tables and source not in readable:
                    choices = ", ".join([*sorted(registry.tables), *readable])
                    problems.append(
                        f"{where}: input {name!r} of module {module!r} comes from {source!r}, "
                        f"which is neither a table nor an earlier pass (choose from {choices})"
                    )
        analytics = [registry.analytics[m]() for m in pass_config.modules]
        keys = {a.keys(pass_config.module_config(a.name)) for a in analytics}
        if len(keys) > 1:
            problems.append(
                f"{where}: its modules key their rows differently "
                f"({'; '.join(', '.join(k) for k in sorted(keys))})"
            )
        output = config.output_for(pass_config)
        dedupes = output.dedupe_on_partition and registry.outputs[output.type].dedupes
        if dedupes and "TimeBucket" not in next(iter(keys), ()):
            problems.append(
                f"{where}: its rows have no TimeBucket, which the {output.type} output's "
                "dedupe_on_partition needs; set dedupe_on_partition: false on its output"
            )
        if not reads_lake(pass_config, registry) and pass_config.timeline_mode != "sparse":
            problems.append(
                f"{where}: timeline_mode {pass_config.timeline_mode!r} needs a pass over lake "
                "tables; this pass reads earlier passes only"
            )
    return problems + _shared_locations(config, registry)


def _shared_locations(config: AnalyticsConfig, registry: Registry) -> list[str]:
    """Outputs that would land in one place: passes (and side outputs) sharing an output
    whose location template lacks {pass}, and the partitions of a pass sharing a location
    of an output that holds one partition per location (parquet files) when the template
    lacks {start_date} and {end_date}."""
    from basalt.planning.dates import pass_date_batches

    writers: dict[tuple[str, str], list[str]] = {}
    problems = []
    for index, pass_config in enumerate(config.PASSES):
        output = config.output_for(pass_config)
        template = output.location_template
        sides = [side for m in pass_config.modules for side in registry.analytics[m].emits]
        names = [pass_config.name, *(f"{pass_config.name}:{side}" for side in sides)]
        writers.setdefault((output.type, template), []).extend(names)
        dated = "{start_date}" in template or "{end_date}" in template
        partitions = len(pass_date_batches(config, pass_config))
        if not dated and not registry.outputs[output.type].dedupes and partitions > 1:
            problems.append(
                f"PASSES[{index}]: its {partitions} partitions (date batches) would overwrite "
                f"each other at {template!r}: add {{start_date}} and {{end_date}} to it"
            )
    return problems + [
        f"outputs of {', '.join(names)} would share {template!r}: add {{pass}} to it"
        for (_, template), names in writers.items()
        if len(names) > 1 and "{pass}" not in template
    ]
