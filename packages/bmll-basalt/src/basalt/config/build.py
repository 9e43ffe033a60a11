"""Configuration models specialised to a plugin registry.

Every registered analytic contributes a pass field named after it (aliases such as
``trade_analytics`` accepted) typed by its ``config_model``; module, output, table and
universe names are checked against what is registered. The result drives validation and
the JSON Schema alike.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from basalt.config.models import AnalyticsConfig, OutputConfig, PassConfig
from basalt.passes import source_problems
from basalt.plugins import Registry

__all__ = ["config_model", "universe_spec"]


def universe_spec(spec: str | None) -> tuple[str, str]:
    """Split a universe spec ``mic=XLON`` into (resolver name, value); None → ("all", "")."""
    if not spec:
        return "all", ""
    name, _, value = spec.partition("=")
    return name.strip(), value.strip()


def _literal(names: list[str]) -> Any:
    return Literal[tuple(sorted(names))] if names else str


def _check_in(kind: str, value: str, allowed: dict[str, Any]) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {kind} {value!r}; allowed: {', '.join(sorted(allowed))}")
    return value


@functools.cache
def config_model(registry: Registry) -> type[AnalyticsConfig]:
    """The :class:`AnalyticsConfig` subclass validating pipelines against ``registry``."""
    analytics = registry.analytics
    outputs = registry.outputs

    class RegisteredOutput(OutputConfig):
        @field_validator("type")
        @classmethod
        def _known_type(cls, value: str) -> str:
            return _check_in("output type", value, outputs)

        @model_validator(mode="after")
        def _writable(self) -> RegisteredOutput:
            outputs[self.type].check(self)
            return self

    module_fields: dict[str, Any] = {
        name: (
            analytic.config_model,
            Field(
                default_factory=analytic.config_model,
                validation_alias=AliasChoices(name, *analytic.config_aliases),
                description=f"Options of module {name!r}: {analytic.summary()}",
            ),
        )
        for name, analytic in sorted(analytics.items())
    }
    module_name: Any = _literal(list(analytics))
    registered_pass: Any = create_model(
        "PassConfig",
        __base__=PassConfig,
        __doc__=PassConfig.__doc__,
        modules=(list[module_name], Field(min_length=1, description="Modules.")),
        output=(RegisteredOutput | None, Field(default=None, description="Output of this pass.")),
        **module_fields,
    )

    table_name: Any = _literal(list(registry.tables))

    class RegisteredConfig(AnalyticsConfig):
        __doc__ = AnalyticsConfig.__doc__
        PASSES: list[registered_pass] = Field(  # type: ignore[assignment]
            min_length=1, description="Passes, run in order."
        )
        OUTPUT_TARGET: RegisteredOutput = Field(
            default_factory=RegisteredOutput, description="Default output of every pass."
        )
        TABLES_TO_LOAD: list[table_name] = Field(
            default_factory=list, description="Tables loaded in addition to module requirements."
        )

        @field_validator("EXECUTOR")
        @classmethod
        def _known_executor(cls, value: str) -> str:
            return _check_in("executor", value, registry.executors)

        @field_validator("UNIVERSE")
        @classmethod
        def _known_universe(cls, value: str | None) -> str | None:
            name, spec = universe_spec(value)
            _check_in("universe", name, registry.universes)
            registry.universes[name](spec)  # a ValueError names what is wrong with it
            return value

        @field_validator("EXECUTOR_OPTIONS")
        @classmethod
        def _executor_options(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
            if info.data.get("EXECUTOR") in registry.executors:
                registry.executors[info.data["EXECUTOR"]].options_model.model_validate(value)
            return value

        @model_validator(mode="after")
        def _modules_have_sources(self) -> RegisteredConfig:
            problems = source_problems(self, registry)
            if problems:
                raise ValueError("\n".join(problems))
            return self

    RegisteredConfig.__name__ = "AnalyticsConfig"
    return RegisteredConfig
