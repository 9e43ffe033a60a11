"""Plugin discovery and the registry of everything plugins provide.

Plugins are modules registered with pluggy: the kernel's built-in module (through the
very same hooks as any third party) and every entry point of group ``basalt``, unless
``BASALT_DISABLE_PLUGIN_AUTOLOAD`` is set. :class:`Registry` collects what the registry
hooks return, keyed by each class's ``name``.
"""

from __future__ import annotations

import functools
import importlib.metadata as md
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import pluggy

from basalt import hookspecs
from basalt.errors import ConfigError, PluginError

if TYPE_CHECKING:
    from basalt.analytic import Analytic
    from basalt.executors.base import Executor
    from basalt.outputs.base import OutputTarget
    from basalt.tables.base import DataTable
    from basalt.universes.base import Universe

__all__ = [
    "DISABLE_AUTOLOAD_ENV",
    "ENTRY_POINT_GROUP",
    "BrokenPlugin",
    "PluginInfo",
    "Registry",
    "get_registry",
]

ENTRY_POINT_GROUP = "basalt"
DISABLE_AUTOLOAD_ENV = "BASALT_DISABLE_PLUGIN_AUTOLOAD"
BUILTIN_PLUGIN_NAME = "basalt"
KERNEL_DISTRIBUTION = "bmll-basalt"


@dataclass(frozen=True)
class BrokenPlugin:
    """An entry point that failed to load (reported by the CLI, skipped)."""

    name: str
    distribution: str
    error: str


@dataclass(frozen=True)
class PluginInfo:
    """A registered plugin module and the distribution it comes from."""

    name: str
    distribution: str
    version: str


def autoload_disabled() -> bool:
    """Whether ``BASALT_DISABLE_PLUGIN_AUTOLOAD`` turns entry-point loading off."""
    value = os.environ.get(DISABLE_AUTOLOAD_ENV, "").strip().lower()
    return value not in ("", "0", "false", "no")


def _version(distribution: str) -> str:
    try:
        return md.version(distribution)
    except md.PackageNotFoundError:
        return "unknown"


def _kinds() -> dict[str, tuple[str, type]]:
    """Registry kind -> (hook name, required base class)."""
    from basalt.analytic import Analytic
    from basalt.executors.base import Executor
    from basalt.outputs.base import OutputTarget
    from basalt.tables.base import DataTable
    from basalt.universes.base import Universe

    return {
        "tables": ("basalt_register_tables", DataTable),
        "analytics": ("basalt_register_analytics", Analytic),
        "outputs": ("basalt_register_outputs", OutputTarget),
        "executors": ("basalt_register_executors", Executor),
        "universes": ("basalt_register_universes", Universe),
    }


@dataclass(eq=False)
class Registry:
    """Everything the registered plugins provide, by kind and name."""

    plugin_manager: pluggy.PluginManager
    plugins: dict[str, PluginInfo]
    broken: list[BrokenPlugin] = field(default_factory=list)
    items: dict[str, dict[str, type]] = field(default_factory=dict)
    providers: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        *,
        autoload: bool | None = None,
        strict: bool = True,
        plugins: Iterable[tuple[str, object]] = (),
    ) -> Registry:
        """Build a registry from the built-in plugin, entry points and ``plugins``.

        ``strict`` makes a plugin that fails to load raise :class:`PluginError`;
        otherwise it is skipped and listed in :attr:`broken`.
        """
        from basalt import builtin

        pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        pm.add_hookspecs(hookspecs)
        pm.register(builtin, name=BUILTIN_PLUGIN_NAME)
        infos = {
            BUILTIN_PLUGIN_NAME: PluginInfo(
                BUILTIN_PLUGIN_NAME, KERNEL_DISTRIBUTION, _version(KERNEL_DISTRIBUTION)
            )
        }
        broken: list[BrokenPlugin] = []
        if not (autoload_disabled() if autoload is None else not autoload):
            for ep in md.entry_points(group=ENTRY_POINT_GROUP):
                dist = ep.dist.name if ep.dist else "unknown"
                if ep.name in infos:
                    raise PluginError(
                        f"two plugins are named {ep.name!r}: "
                        f"{infos[ep.name].distribution} and {dist}"
                    )
                try:
                    module = ep.load()
                except Exception as exc:
                    message = f"{type(exc).__name__}: {exc}"
                    if strict:
                        raise PluginError(
                            f"plugin {ep.name!r} from {dist} failed to load: {message}"
                        ) from exc
                    broken.append(BrokenPlugin(ep.name, dist, message))
                    continue
                pm.register(module, name=ep.name)
                infos[ep.name] = PluginInfo(ep.name, dist, _version(dist))
        for name, module in plugins:
            pm.register(module, name=name)
            infos[name] = PluginInfo(name, "(registered in code)", "")
        try:
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {exc.plugin!r} implements an unknown hook: {exc}") from exc
        registry = cls(pm, infos, broken)
        registry._collect()
        return registry

    def _collect(self) -> None:
        for kind, (hook_name, base) in _kinds().items():
            found: dict[str, type] = {}
            for impl in getattr(self.plugin_manager.hook, hook_name).get_hookimpls():
                for item in impl.function() or []:
                    self._add(kind, base, found, item, impl.plugin_name)
            self.items[kind] = found

    def _add(self, kind: str, base: type, found: dict[str, type], item: Any, plugin: str) -> None:
        provider = self._describe(plugin)
        if not (isinstance(item, type) and issubclass(item, base)):
            raise PluginError(
                f"{provider} registers {item!r} as {kind}; expected a subclass of {base.__name__}"
            )
        name = getattr(item, "name", None)
        if not isinstance(name, str) or not name:
            raise PluginError(f"{provider} registers {item.__qualname__} without a `name`")
        if name in found:
            other = self._describe(self.providers[(kind, name)])
            raise PluginError(
                f"duplicate {kind[:-1]} name {name!r}: registered by {other} "
                f"({found[name].__module__}.{found[name].__qualname__}) and by {provider} "
                f"({item.__module__}.{item.__qualname__})"
            )
        found[name] = item
        self.providers[(kind, name)] = plugin

    def _describe(self, plugin: str) -> str:
        info = self.plugins.get(plugin)
        return f"plugin {plugin!r} ({info.distribution})" if info else f"plugin {plugin!r}"

    def get(self, kind: str, name: str) -> Any:
        """The class registered as ``name`` in ``kind``; :class:`ConfigError` if none."""
        try:
            return self.items[kind][name]
        except KeyError:
            allowed = ", ".join(sorted(self.items[kind])) or "(none)"
            raise ConfigError(f"unknown {kind[:-1]} {name!r}; registered: {allowed}") from None

    def provided_by(self, plugin: str) -> dict[str, list[str]]:
        """What ``plugin`` registers, by kind."""
        out: dict[str, list[str]] = {}
        for (kind, name), owner in sorted(self.providers.items()):
            if owner == plugin:
                out.setdefault(kind, []).append(name)
        return out

    @property
    def tables(self) -> dict[str, type[DataTable]]:
        """Registered input tables by name."""
        return cast("dict[str, type[DataTable]]", self.items["tables"])

    @property
    def analytics(self) -> dict[str, type[Analytic]]:
        """Registered analytics by module name."""
        return cast("dict[str, type[Analytic]]", self.items["analytics"])

    @property
    def outputs(self) -> dict[str, type[OutputTarget]]:
        """Registered output targets by type name."""
        return cast("dict[str, type[OutputTarget]]", self.items["outputs"])

    @property
    def executors(self) -> dict[str, type[Executor]]:
        """Registered executors by name."""
        return cast("dict[str, type[Executor]]", self.items["executors"])

    @property
    def universes(self) -> dict[str, type[Universe]]:
        """Registered universe resolvers by name."""
        return cast("dict[str, type[Universe]]", self.items["universes"])


@functools.cache
def get_registry() -> Registry:
    """The process-wide registry (built on first use; plugins that fail raise)."""
    return Registry.create()
