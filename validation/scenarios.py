"""Scenarios and suites as TOML files that map onto the simulator's dataclasses.

A suite file holds ``[suite]`` (``name``, ``seeds``) and a list of ``[[scenario]]``
tables, each with ``name``, ``[scenario.observation]``, ``[scenario.scene]``, optional
effects grouped as :class:`simulator.Effects` groups them, ``[scenario.effects.detector]``
(fields of :class:`simulator.DetectorEffects`), ``[scenario.effects.optics]``
(:class:`simulator.OpticsEffects`), ``[scenario.effects.imager]``
(:class:`simulator.ImagerEffects`), ``[scenario.effects.lrs]``
(:class:`simulator.LrsEffects`) and ``[scenario.effects.mrs]`` (:class:`simulator.MrsEffects`),
and ``[scenario.references]`` (fields of
:class:`simulator.ReferenceOptions`).  Any unknown key is an error that names it; an
effect written without its group is an error that names the group it belongs to.

The observation's ``mode`` (:data:`OBSERVATIONS`) chooses its dataclass and what its
scene holds:

* ``imager`` (the default): fields of :class:`simulator.Observation`; the scene has
  ``background_mjy_sr`` and point sources, listed (``sources`` = list of
  ``{ra_deg, dec_deg, flux_mjy}``) or drawn per seed (``[random_stars]`` with ``n``,
  ``flux_min_mjy``, ``flux_max_mjy``);
* ``lrs_slit``, ``lrs_slitless``: fields of :class:`simulator.LrsObservation` (``mode``,
  ``readpatt``, ``ngroups``, ``nints``, ``epoch_mjd``, ``nod``); the scene has
  ``background_mjy_sr`` and ``spectral_sources`` = list of ``{spectrum, along_slit_arcsec,
  across_slit_arcsec}`` (:class:`simulator.SpectralSource`; ``spectrum`` in the form of
  :func:`simulator.spectra.spectrum_from_dict`, whose errors name the key inside it) and,
  for a time series (``tso = true``), ``[scenario.scene.transit]`` with ``t0_hours`` (from
  the exposure start), ``period_days``, ``a_rs``, ``inclination_deg``, ``u1``, ``u2``,
  ``rp_rs`` and optionally ``rp_rs_slope_per_um`` (:class:`simulator.transit.Transit`);
* ``mrs``: fields of :class:`simulator.MrsObservation` (``detector``, ``band``, ``readpatt``,
  ``ngroups``, ``nints``, ``epoch_mjd`` and the dither's); the scene has ``background_mjy_sr``
  and ``spectral_sources`` whose two offsets are read as ``(alpha, beta)`` from the target
  (``along_slit_arcsec`` = alpha, ``across_slit_arcsec`` = beta, in band ``<dither_channel>A``'s
  frame, as :class:`simulator.MrsObservation` says) and ``extended_sources`` = list of
  :class:`simulator.ExtendedSource` tables (``spectrum``, the centre's ``along_slit_arcsec`` /
  ``across_slit_arcsec`` read as the spectral sources' are, ``profile`` = ``gaussian`` with
  ``fwhm_major_arcsec``, ``fwhm_minor_arcsec``, ``pa_deg``, or ``disk`` with ``radius_arcsec``),
  listed after the spectral sources (source ids in that order).

A scenario asks for a dedicated background exposure with ``background_exposure = true``
in ``[scenario.observation]``; the simulator lists it in the exposure set's association,
where the ``background=dedicated`` calibration variant finds it (a study runs it as an
algorithm set, e.g. ``background=dedicated``, beside the default ``local``).

An MRS band-3A scenario (``detector = "MIRIFULONG"``, ``band = "SHORT"``) names with ``leak_from``
(beside ``name``) the suite's band-1B scenario (``MIRIFUSHORT``, ``MEDIUM``) of the same target whose
products correct its spectral leak: the runner simulates and calibrates that one first, with the cell's
seed and algorithms, and hands its cube, spectrum and references to the 3A calibration as ``calibrate
--leak-from ... --leak-refs ...`` does (:func:`validation.runner.run_cell`).  A name that is no scenario
of the suite, or no band-1B one, is refused by name.
"""
import tomllib
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path

from miri_testbed.simulator import (
    Effects,
    ExtendedSource,
    LrsObservation,
    MrsObservation,
    Observation,
    PointSource,
    ReferenceOptions,
    Scene,
    SpectralSource,
)
from miri_testbed.simulator.exposure import rng_streams
from miri_testbed.simulator.sky import random_star_field
from miri_testbed.simulator.spectra import SpectrumError, spectrum_from_dict
from miri_testbed.simulator.transit import Transit

from .errors import ScenarioError

#: ``mode`` of ``[scenario.observation]`` -> its observation dataclass (the imager's and the
#: MRS's have no ``mode`` field: it is a class constant).
OBSERVATIONS = {"imager": Observation, "lrs_slit": LrsObservation, "lrs_slitless": LrsObservation,
                "mrs": MrsObservation}
#: The keys of ``[scenario.scene]`` for each observation dataclass.
SCENE_KEYS = {Observation: ("background_mjy_sr", "sources", "random_stars"),
              LrsObservation: ("background_mjy_sr", "spectral_sources", "transit"),
              MrsObservation: ("background_mjy_sr", "spectral_sources", "extended_sources")}


@dataclass(frozen=True)
class RandomStars:
    n: int
    flux_min_mjy: float
    flux_max_mjy: float
    margin_pix: int = 20
    min_separation_pix: float = 0.0

    def __post_init__(self):
        if self.n < 0:
            raise ValueError(f"n must be >= 0, got {self.n}")
        if not 0 < self.flux_min_mjy <= self.flux_max_mjy:  # log-uniform fluxes need both > 0
            raise ValueError(f"need 0 < flux_min_mjy <= flux_max_mjy, got {self.flux_min_mjy}, {self.flux_max_mjy}")


@dataclass(frozen=True)
class Scenario:
    """One observation of one scene, with its effects and references.

    ``sources`` and ``random_stars`` are an imager scene's point sources,
    ``spectral_sources`` an LRS or MRS scene's (:data:`SCENE_KEYS`); the other kind stays empty.
    """

    name: str
    observation: Observation | LrsObservation | MrsObservation
    background_mjy_sr: float = 0.0
    sources: tuple = ()
    random_stars: RandomStars = None
    effects: Effects = Effects()
    references: ReferenceOptions = ReferenceOptions()
    spectral_sources: tuple = ()
    transit: Transit = None
    extended_sources: tuple = ()
    leak_from: str = ""  # the band-1B scenario correcting this band-3A one's spectral leak (module docstring)
    leak_source: "Scenario" = field(default=None, compare=False, repr=False)  # that scenario, set by parse_suite

    def scene(self, seed):
        """The scene for ``seed``: fixed sources plus, if asked, a random star field."""
        stars = ()
        if self.random_stars:
            r = self.random_stars
            try:
                stars = random_star_field(self.observation, r.n, r.flux_min_mjy, r.flux_max_mjy,
                                          rng_streams(seed)["scene"], r.margin_pix, r.min_separation_pix)
            except ValueError as exc:  # a margin or separation the subarray cannot hold
                raise ScenarioError(f"scenario {self.name!r}.scene.random_stars: {exc}") from None
        return Scene(self.sources + stars + self.spectral_sources + self.extended_sources, self.background_mjy_sr,
                     self.transit)


SCALAR_TYPES = {bool: (bool,), int: (int,), float: (int, float), str: (str,),
                "bool": (bool,), "int": (int,), "float": (int, float), "str": (str,)}


def _check_types(cls, table, where):
    for f in fields(cls):
        allowed = SCALAR_TYPES.get(f.type)
        if f.name not in table or allowed is None:
            continue
        value = table[f.name]
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            raise ScenarioError(
                f"{where}.{f.name}: expected {allowed[-1].__name__}, got {type(value).__name__} {value!r}"
            )


def _build(cls, table, where, also=()):
    """``cls(**table)``; ``also``: keys the caller took out of ``table``, listed as known."""
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: expected a table, got {type(table).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known | set(also)))}")
    _check_types(cls, table, where)
    try:
        return cls(**table)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"{where}: {exc}") from None


def _build_effects(table, where):
    """:class:`simulator.Effects` from ``{group: {field: value}}``."""
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: expected a table, got {type(table).__name__}")
    groups = {f.name: f.type for f in fields(Effects)}
    for key in sorted(set(table) - set(groups)):
        owner = [g for g, cls in groups.items() if key in {f.name for f in fields(cls)}]
        hint = (f"effects are grouped: put {key} under [{where}.{owner[0]}]" if owner
                else f"groups: {', '.join(groups)}")
        raise ScenarioError(f"{where}: unknown key {key!r}; {hint}")
    return Effects(**{g: _build(cls, table.get(g, {}), f"{where}.{g}") for g, cls in groups.items()})


def _build_observation(table, where):
    """The observation dataclass of ``table['mode']`` (:data:`OBSERVATIONS`; default the imager)."""
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: expected a table, got {type(table).__name__}")
    mode = table.get("mode", "imager")
    if not isinstance(mode, str) or mode not in OBSERVATIONS:
        raise ScenarioError(f"{where}.mode: unknown mode {mode!r}; known: {', '.join(OBSERVATIONS)}")
    cls = OBSERVATIONS[mode]
    if "mode" not in {f.name for f in fields(cls)}:  # a class constant, not a field
        return _build(cls, {k: v for k, v in table.items() if k != "mode"}, where, also=("mode",))
    return _build(cls, table, where)


def _build_spectral_source(table, where, cls=SpectralSource):
    """A :class:`simulator.SpectralSource` (or ``cls``: :class:`simulator.ExtendedSource`).

    A bad spectrum's error names the key inside it.
    """
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: expected a table, got {type(table).__name__}")
    known = sorted(f.name for f in fields(cls))
    problems = [f"unknown key(s) {', '.join(sorted(set(table) - set(known)))}"] if set(table) - set(known) else []
    problems += ["missing key 'spectrum'"] if "spectrum" not in table else []
    if problems:  # a misspelt 'spectrum' is both
        raise ScenarioError(f"{where}: {'; '.join(problems)}; known: {', '.join(known)}")
    try:
        spectrum_from_dict(table["spectrum"], f"{where}.spectrum")
    except SpectrumError as exc:
        raise ScenarioError(str(exc)) from None
    return _build(cls, table, where)


def _list(scene, key, where):
    value = scene.get(key, [])
    if not isinstance(value, list):
        raise ScenarioError(f"{where}.scene.{key}: expected a list of tables, got {type(value).__name__}")
    return value


#: The MRS settings (detector, band) of the spectral leak's pair: where it falls (3A) and where it comes from (1B).
LEAK_BAND, LEAK_SOURCE_BAND = ("MIRIFULONG", "SHORT"), ("MIRIFUSHORT", "MEDIUM")


def _setting(scenario):
    """``(detector, band)`` of an MRS scenario, None for other modes."""
    obs = scenario.observation
    return (obs.detector, obs.band) if isinstance(obs, MrsObservation) else None


def _parse_leak_from(value, observation, where):
    if not isinstance(value, str) or not value:
        raise ScenarioError(f"{where}.leak_from: expected the name of a band-1B scenario, got {value!r}")
    if not isinstance(observation, MrsObservation) or (observation.detector, observation.band) != LEAK_BAND:
        raise ScenarioError(f"{where}.leak_from: the spectral leak falls on band 3A (mode 'mrs', detector "
                            f"{LEAK_BAND[0]}, band {LEAK_BAND[1]}); this scenario is not one")
    return value


def pair_leaks(scenarios, source="suite"):
    """``scenarios`` with each ``leak_from`` resolved to its band-1B scenario (``leak_source``).

    Raises
    ------
    ScenarioError
        A ``leak_from`` naming no scenario of ``scenarios``, or one that is not band 1B.
    """
    by_name = {s.name: s for s in scenarios}
    paired = []
    for s in scenarios:
        if s.leak_from:
            found = by_name.get(s.leak_from)
            if found is None:
                raise ScenarioError(f"suite {source} scenario {s.name!r}.leak_from: no scenario named {s.leak_from!r} "
                                    f"(scenarios: {', '.join(by_name)})")
            if _setting(found) != LEAK_SOURCE_BAND:
                raise ScenarioError(f"suite {source} scenario {s.name!r}.leak_from: {s.leak_from!r} is not a band-1B "
                                    f"exposure (mode 'mrs', detector {LEAK_SOURCE_BAND[0]}, band "
                                    f"{LEAK_SOURCE_BAND[1]}); it is {_setting(found) or found.observation.mode}")
            s = replace(s, leak_source=found)
        paired.append(s)
    return tuple(paired)


def unpaired_leaks(scenarios):
    """The names of the band-3A scenarios that simulate the spectral leak and name no ``leak_from``.

    Their leak is left uncorrected (the ``spectral_leak`` step has no 1B data) and LEAK-1 does not judge them.
    """
    return [s.name for s in scenarios if _setting(s) == LEAK_BAND and s.effects.mrs.spectral_leak and not s.leak_from]


def parse_scenario(table, where="scenario"):
    allowed = {"name", "observation", "scene", "effects", "references", "leak_from"}
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}")
    if "name" not in table:
        raise ScenarioError(f"{where}: missing key 'name'")
    where = f"scenario {table['name']!r}"
    observation = _build_observation(table.get("observation", {}), f"{where}.observation")
    scene = table.get("scene", {})
    if not isinstance(scene, dict):
        raise ScenarioError(f"{where}.scene: expected a table, got {type(scene).__name__}")
    scene_keys = SCENE_KEYS[type(observation)]
    unknown = sorted(set(scene) - set(scene_keys))
    if unknown:
        raise ScenarioError(f"{where}.scene: unknown key(s) {', '.join(unknown)}; known for mode "
                            f"{observation.mode!r}: {', '.join(scene_keys)}")
    sources = tuple(_build(PointSource, s, f"{where}.scene.sources[{i}]")
                    for i, s in enumerate(_list(scene, "sources", where)))
    spectral = tuple(_build_spectral_source(s, f"{where}.scene.spectral_sources[{i}]")
                     for i, s in enumerate(_list(scene, "spectral_sources", where)))
    extended = tuple(_build_spectral_source(s, f"{where}.scene.extended_sources[{i}]", ExtendedSource)
                     for i, s in enumerate(_list(scene, "extended_sources", where)))
    random_stars = _build(RandomStars, scene["random_stars"], f"{where}.scene.random_stars") if "random_stars" in scene else None
    transit = _build(Transit, scene["transit"], f"{where}.scene.transit") if "transit" in scene else None
    if transit is not None and not observation.tso:
        raise ScenarioError(f"{where}.scene.transit: a transit needs a time series (tso = true in the observation)")
    try:
        background = float(scene.get("background_mjy_sr", 0.0))
    except (TypeError, ValueError):
        raise ScenarioError(f"{where}.scene.background_mjy_sr: not a number") from None
    return Scenario(
        name=str(table["name"]),
        observation=observation,
        background_mjy_sr=background,
        sources=sources,
        random_stars=random_stars,
        effects=_build_effects(table.get("effects", {}), f"{where}.effects"),
        references=_build(ReferenceOptions, table.get("references", {}), f"{where}.references"),
        spectral_sources=spectral,
        transit=transit,
        extended_sources=extended,
        leak_from=_parse_leak_from(table["leak_from"], observation, where) if "leak_from" in table else "",
    )


@dataclass(frozen=True)
class Suite:
    name: str
    seeds: tuple
    scenarios: tuple


def suite_text(source):
    """The TOML text of a suite: a path to a ``.toml`` file or a built-in suite's name."""
    path = Path(source)
    if path.suffix == ".toml" or path.exists():
        if not path.exists():
            raise ScenarioError(f"suite file {path} does not exist")
        return path.read_text(encoding="utf-8")
    builtin = resources.files("miri_testbed.validation") / "suites" / f"{source}.toml"
    if not builtin.is_file():
        names = sorted(p.name[:-5] for p in (resources.files("miri_testbed.validation") / "suites").iterdir() if p.name.endswith(".toml"))
        raise ScenarioError(f"unknown suite {source!r}; built-in suites: {', '.join(names)}")
    return builtin.read_text(encoding="utf-8")


def load_suite(source):
    """A :class:`Suite` from a TOML path or the name of a built-in suite."""
    return parse_suite(suite_text(source), source)


def parse_suite(text, source="suite"):
    """A :class:`Suite` from TOML text; ``source`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"suite {source}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - {"suite", "scenario"})
    if unknown:
        raise ScenarioError(f"suite {source}: unknown top-level key(s) {', '.join(unknown)}; known: scenario, suite")
    head = data.get("suite", {})
    unknown = sorted(set(head) - {"name", "seeds"})
    if unknown:
        raise ScenarioError(f"suite {source}: unknown key(s) in [suite]: {', '.join(unknown)}; known: name, seeds")
    seeds = head.get("seeds", [0])
    if not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise ScenarioError(f"suite {source}: seeds must be a non-empty list of non-negative integers")
    scenarios = tuple(parse_scenario(t, f"suite {source} scenario #{i}") for i, t in enumerate(data.get("scenario", [])))
    if not scenarios:
        raise ScenarioError(f"suite {source}: no [[scenario]] tables")
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise ScenarioError(f"suite {source}: scenario names must be unique, got {names}")
    return Suite(str(head.get("name", Path(str(source)).stem)), tuple(seeds), pair_leaks(scenarios, source))


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table (a spectrum and its lines)
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _toml_table(obj):
    return "{ " + ", ".join(f"{f.name} = {_toml_value(getattr(obj, f.name))}" for f in fields(obj)) + " }"


def scenario_toml(scenario):
    """The ``[[scenario]]`` TOML text of ``scenario`` (:func:`parse_scenario` reads it back)."""
    lines = ["[[scenario]]", f"name = {_toml_value(scenario.name)}"]
    if scenario.leak_from:
        lines.append(f"leak_from = {_toml_value(scenario.leak_from)}")
    sections = [("observation", scenario.observation), ("references", scenario.references)]
    sections += [(f"effects.{f.name}", getattr(scenario.effects, f.name)) for f in fields(scenario.effects)]
    for section, obj in sections:
        lines.append(f"[scenario.{section}]")
        if obj is scenario.observation and "mode" not in {f.name for f in fields(obj)}:  # a class constant
            lines.append(f"mode = {_toml_value(obj.mode)}")
        lines += [f"{f.name} = {_toml_value(getattr(obj, f.name))}" for f in fields(obj)]
    lines += ["[scenario.scene]", f"background_mjy_sr = {_toml_value(scenario.background_mjy_sr)}"]
    if isinstance(scenario.observation, LrsObservation | MrsObservation):
        lines.append("spectral_sources = [" + ", ".join(_toml_table(s) for s in scenario.spectral_sources) + "]")
        if scenario.transit is not None:  # an LRS time series'
            lines.append(f"transit = {_toml_table(scenario.transit)}")
        if scenario.extended_sources:  # an MRS scene's
            lines.append("extended_sources = [" + ", ".join(_toml_table(s) for s in scenario.extended_sources) + "]")
    else:
        lines.append("sources = [" + ", ".join(_toml_table(s) for s in scenario.sources) + "]")
        if scenario.random_stars:
            lines.append(f"random_stars = {_toml_table(scenario.random_stars)}")
    return "\n".join(lines) + "\n"
