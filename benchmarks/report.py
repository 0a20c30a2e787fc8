"""Turns the measured figures into markdown tables: times, ratios (stock / ours), sizes, peak RSS, targets."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.measure import OurRun
from benchmarks.suite import EngineFigures

BACKUP_TARGET = 1.2
RESTORE_TARGET = 1.0
RSS_LIMIT_MIB = 150.0
RSS_FLATNESS = 0.10


def _times(values: Sequence[float]) -> str:
    return " / ".join(f"{value:.2f}" for value in values)


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def backup_ratio(figures: EngineFigures) -> float:
    return min(figures.stock_backups) / min(run.wall_seconds for run in figures.our_backups)


def restore_ratio(figures: EngineFigures) -> float:
    return min(figures.stock_restores) / min(run.wall_seconds for run in figures.our_restores)


def parallel_restore_ratio(figures: EngineFigures) -> float | None:
    if not figures.our_parallel_restores:
        return None
    return min(figures.stock_restores) / min(run.wall_seconds for run in figures.our_parallel_restores)


def _parallel_cells(figures: EngineFigures) -> str:
    ratio = parallel_restore_ratio(figures)
    if ratio is None:
        return "| — | — "
    return f"| {_times([run.wall_seconds for run in figures.our_parallel_restores])} | **{ratio:.2f}×** "


def in_process_ratios(figures: EngineFigures) -> tuple[float, float]:
    """Ratios with our time measured inside the child: no interpreter start, as in a warm function."""
    return (
        min(figures.stock_backups) / min(run.pipeline_seconds for run in figures.our_backups),
        min(figures.stock_restores) / min(run.pipeline_seconds for run in figures.our_restores),
    )


def render(results: Sequence[EngineFigures]) -> str:
    lines = [
        "| engine | dataset | our SQL | stock SQL | backup ours s | backup stock s | backup ratio | our MB/s "
        "| our .gz MB | gzip -1 MB | restore ours s | restore stock s | restore ratio "
        "| restore ours parallel s | parallel ratio | RSS backup MiB | RSS restore MiB | RSS parallel MiB "
        "| pg_dump RSS MiB |",
        "|---" * 19 + "|",
    ]
    for figures in results:
        best_backup = min(run.wall_seconds for run in figures.our_backups)
        raw = figures.our_backups[-1].raw_bytes
        lines.append(
            f"| {figures.label} | {figures.size_mb:g} MB | {raw / 1e6:.0f} MB "
            f"| {figures.stock_raw_bytes / 1e6:.0f} MB "
            f"| {_times([run.wall_seconds for run in figures.our_backups])} "
            f"| {_times(figures.stock_backups)} "
            f"| **{backup_ratio(figures):.2f}×** | {raw / 1e6 / best_backup:.0f} "
            f"| {figures.our_backups[-1].stored_bytes / 1e6:.1f} | {figures.stock_stored_bytes / 1e6:.1f} "
            f"| {_times([run.wall_seconds for run in figures.our_restores])} "
            f"| {_times(figures.stock_restores)} "
            f"| **{restore_ratio(figures):.2f}×** "
            f"{_parallel_cells(figures)}"
            f"| {_peak(figures, 'backup'):.0f} | {_peak(figures, 'restore'):.0f} "
            f"| {f'{_peak(figures, _PARALLEL):.0f}' if figures.our_parallel_restores else '—'} "
            f"| {max(run.children_peak_rss_mib for run in figures.our_backups + figures.our_restores):.0f} |"
        )
    return "\n".join([*lines, "", *_targets(results)])


_PARALLEL = "parallel restore"


def _runs(figures: EngineFigures, operation: str) -> list[OurRun]:
    if operation == "backup":
        return figures.our_backups
    return figures.our_restores if operation == "restore" else figures.our_parallel_restores


def _peak(figures: EngineFigures, operation: str) -> float:
    return max(run.peak_rss_mib for run in _runs(figures, operation))


def _parallel_target(figures: EngineFigures) -> str:
    ratio = parallel_restore_ratio(figures)
    if ratio is None:
        return ""
    return (
        f"; restore over {figures.parallel_connections} connections (opt-in, not all or nothing) "
        f"{ratio:.2f}× (≥ {RESTORE_TARGET}: {_verdict(ratio >= RESTORE_TARGET)})"
    )


def _targets(results: Sequence[EngineFigures]) -> list[str]:
    lines = ["Targets (ratio = best stock time / best our time; our time includes starting Python):"]
    for figures in results:
        backup, restore = backup_ratio(figures), restore_ratio(figures)
        lines.append(
            f"- {figures.label} {figures.size_mb:g} MB: backup {backup:.2f}× (≥ {BACKUP_TARGET}: "
            f"{_verdict(backup >= BACKUP_TARGET)}), restore {restore:.2f}× (≥ {RESTORE_TARGET}: "
            f"{_verdict(restore >= RESTORE_TARGET)}); without start-up and imports (a warm function): "
            f"backup {in_process_ratios(figures)[0]:.2f}×, restore {in_process_ratios(figures)[1]:.2f}×"
            + _parallel_target(figures)
        )
    for label in dict.fromkeys(figures.label for figures in results):
        runs = [figures for figures in results if figures.label == label]
        for operation in ("backup", "restore", _PARALLEL):
            if not all(_runs(figures, operation) for figures in runs):
                continue
            peaks = [_peak(figures, operation) for figures in runs]
            spread = (max(peaks) - min(peaks)) / min(peaks)
            flat = (
                ""
                if len(runs) < 2
                else f", spread {spread:.0%} across sizes (≤ {RSS_FLATNESS:.0%}: "
                + (f"{_verdict(spread <= RSS_FLATNESS)})")
            )
            lines.append(
                f"- {label} {operation} peak RSS {' / '.join(f'{p:.0f}' for p in peaks)} MiB "
                f"(≤ {RSS_LIMIT_MIB:.0f}: {_verdict(max(peaks) <= RSS_LIMIT_MIB)}){flat}"
            )
    return lines
