"""TA-Lib indicators over a pass's series, computed per group in time order.

Any TA-Lib function is named by its TA-Lib name (``SMA``, ``RSI``, ``MACD``, ``ATR``) with its
parameters; a function of several price series (``ATR``: high, low, close) takes as many
input columns, in TA-Lib's order. The default column name is the PascalCase output name
followed by the parameter values: ``Sma14``, ``Rsi14``, ``MacdSignal12269``. TA-Lib is the
``talib`` extra: ``pip install "bmll-basalt[talib]"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Self

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from basalt.analytics.common import as_list
from basalt.metrics import MetricDoc

__all__ = ["INDICATOR_DOC", "TalibIndicatorConfig", "indicator_columns"]

INDICATOR_DOC = MetricDoc(
    "{indicator}",
    "Indicator",
    "TA-Lib {function} of {inputs}",
    "Computed over each group's rows in time order (every row of the group, earlier "
    "partitions not included); null while the function's look-back is not filled.",
    {"indicator": (), "function": (), "inputs": ()},
)


def _talib() -> Any:
    try:
        import talib.abstract
    except ImportError:
        raise ValueError(
            'TA-Lib is not installed; install it with pip install "bmll-basalt[talib]"'
        ) from None
    return talib.abstract


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:].lower()


class TalibIndicatorConfig(BaseModel):
    """One TA-Lib function applied to one or more columns."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="TA-Lib function name, e.g. SMA, RSI, MACD, ATR.")
    input_col: Annotated[list[str], BeforeValidator(as_list)] = Field(
        min_length=1,
        description="Input column, or the columns of a function of several series (ATR: "
        "high, low, close), in TA-Lib's order.",
    )
    timeperiod: int | None = Field(
        default=14, ge=1, description="The timeperiod parameter, for functions that have one."
    )
    parameters: dict[str, float] = Field(
        default_factory=dict,
        description="Function parameters by TA-Lib name (win over timeperiod); "
        "the rest keep TA-Lib's defaults.",
    )
    output_index: int = Field(
        default=0, ge=0, description="Which output of a function of several (MACD: 1 = signal)."
    )
    output_col: str | None = Field(
        default=None,
        description="Column name; default the PascalCase output name and the parameter "
        "values (Sma14, MacdSignal12269).",
    )

    @model_validator(mode="after")
    def _known(self) -> Self:
        self.name = self.name.upper()
        abstract = _talib()
        try:
            info = abstract.Function(self.name).info
        except Exception:  # TA-Lib's own error for an unknown name
            raise ValueError(f"unknown TA-Lib function {self.name!r}") from None
        wanted = sum(len(as_list(v)) for v in info["input_names"].values())
        if len(self.input_col) != wanted:
            raise ValueError(f"{self.name} takes {wanted} input column(s), got {self.input_col}")
        unknown = sorted(set(self.parameters) - set(info["parameters"]))
        if unknown:
            raise ValueError(
                f"{self.name} has no parameter(s) {unknown}; it has {list(info['parameters'])}"
            )
        if self.output_index >= len(info["output_names"]):
            raise ValueError(f"{self.name} has outputs {info['output_names']}")
        return self

    def arguments(self) -> dict[str, Any]:
        """Every parameter of the function: TA-Lib's defaults, timeperiod, ``parameters``."""
        defaults = dict(_talib().Function(self.name).info["parameters"])
        if "timeperiod" in defaults and self.timeperiod is not None:
            defaults["timeperiod"] = self.timeperiod
        given = {k: int(v) if float(v).is_integer() else v for k, v in self.parameters.items()}
        return {**defaults, **given}

    def column(self, prefix: str = "") -> str:
        """The output column name."""
        if self.output_col:
            return prefix + self.output_col
        outputs = _talib().Function(self.name).info["output_names"]
        output = outputs[self.output_index]
        function = self.name.lower()
        if len(outputs) == 1 or output == function:
            stem = _pascal(function)
        elif output.startswith(function):
            stem = _pascal(function) + _pascal(output[len(function) :])
        else:
            stem = _pascal(function) + _pascal(output)
        digits = "".join(f"{v:g}".replace(".", "") for v in self.arguments().values())
        return f"{prefix}{stem}{digits}"

    def expression(self, groups: Sequence[str], prefix: str = "") -> pl.Expr:
        """The indicator, per group of ``groups`` (rows in time order)."""
        function = getattr(_talib(), self.name)  # the function API: arrays in, arrays out
        arguments = self.arguments()
        index = self.output_index
        fields = [pl.col(c).cast(pl.Float64).alias(f"in{i}") for i, c in enumerate(self.input_col)]

        def apply(series: pl.Series) -> pl.Series:
            arrays = [series.struct.field(f"in{i}").to_numpy() for i in range(len(fields))]
            found = function(*arrays, **arguments) if len(series) else []
            values = found[index] if isinstance(found, list | tuple) else found
            return pl.Series(values, dtype=pl.Float64).fill_nan(None)

        indicator = pl.struct(fields).map_batches(apply, return_dtype=pl.Float64)
        return (indicator.over(groups) if groups else indicator).alias(self.column(prefix))


def indicator_columns(
    indicators: Sequence[TalibIndicatorConfig], prefix: str
) -> list[tuple[str, dict[str, str]]]:
    """(column, doc values) of every indicator."""
    return [
        (
            i.column(prefix),
            {
                "indicator": i.column(prefix),
                "function": f"{i.name}({', '.join(f'{k}={v}' for k, v in i.arguments().items())})",
                "inputs": ", ".join(i.input_col),
            },
        )
        for i in indicators
    ]
