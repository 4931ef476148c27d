"""Strategies and pipelines sent to other processes as their configuration, not as objects.

An engine's workers (Spark executors, Dask workers) rebuild the strategy from
``strategy.config()`` through the qualifier registry and the pipeline from its
definition, so what runs there is what the configuration says, whatever
state the driver's objects carry.  Plugin strategies need their plugin
installed on the workers, as on the driver.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..errors import Problem, ValidationError
from ..pipelines.compile import compile_pipeline
from ..pipelines.loading import pipeline_from_dict
from ..pipelines.pipeline import Pipeline
from ..qualification.base import Strategy
from ..qualification.config import build

__all__ = ["ShippedPipeline", "ShippedStrategy", "ship_pipeline", "ship_strategy"]


@attrs.frozen
class ShippedStrategy:
    """A strategy's configuration and hash, small and picklable; :meth:`build` rebuilds it."""

    config: dict[str, Any] = attrs.field(repr=False)
    config_hash: str

    def build(self) -> Strategy:
        """The strategy again, refused unless it hashes as the one shipped."""
        strategy = build(self.config)
        if strategy.config_hash != self.config_hash:
            raise ValidationError(
                "strategy",
                [
                    Problem(
                        "$.config_hash",
                        f"rebuilt from its configuration the strategy hashes "
                        f"{strategy.config_hash}, not {self.config_hash}: its qualifier "
                        "differs between the driver and this worker",
                    )
                ],
            )
        return strategy


@attrs.frozen
class ShippedPipeline:
    """A pipeline's definition, small and picklable; :meth:`build` compiles it again."""

    definition: dict[str, Any] = attrs.field(repr=False)
    version: str

    def build(self) -> Pipeline:
        """The compiled pipeline, refused unless its version is the one shipped."""
        pipeline = compile_pipeline(pipeline_from_dict(self.definition))
        if pipeline.version != self.version:
            raise ValidationError(
                "pipeline",
                [
                    Problem(
                        "$.version",
                        f"compiled again the pipeline is version {pipeline.version}, "
                        f"not {self.version}",
                    )
                ],
            )
        return pipeline


def ship_strategy(strategy: Strategy) -> ShippedStrategy:
    """What to send to workers so they evaluate ``strategy`` (its configuration)."""
    config = strategy.config()
    shipped = ShippedStrategy(config, strategy.config_hash)
    shipped.build()  # refuse here, on the driver, a strategy that cannot be rebuilt
    return shipped


def ship_pipeline(pipeline: Pipeline) -> ShippedPipeline:
    """What to send to workers so they apply ``pipeline``'s moves (its definition)."""
    shipped = ShippedPipeline(pipeline.spec.as_dict(), pipeline.version)
    shipped.build()
    return shipped
