"""A sphinx-gallery image scraper for figures made without pyplot.

hiercls's plotting functions (``hiercls.reports.plot_*``) return a
``matplotlib.figure.Figure`` without touching pyplot's state, so the default
matplotlib scraper, which asks pyplot for its open figures, never sees them. This
scraper saves every such figure that an example's code block leaves in a variable.
"""

from __future__ import annotations

from typing import Any

from sphinx_gallery.scrapers import figure_rst

_seen: dict[str, set[int]] = {}


def unmanaged_figures(block: Any, block_vars: dict[str, Any], gallery_conf: dict[str, Any]) -> str:
    """Save the figures of the example's globals that pyplot does not manage."""
    from matplotlib.figure import Figure

    # Runs before the matplotlib scraper, which closes pyplot's figures: a figure
    # that pyplot manages now is the matplotlib scraper's, in this block and later.
    seen = _seen.setdefault(str(block_vars.get("src_file")), set())
    paths = []
    for value in list(block_vars["example_globals"].values()):
        if not isinstance(value, Figure) or id(value) in seen:
            continue
        seen.add(id(value))
        if value.canvas.manager is not None:
            continue
        path = next(block_vars["image_path_iterator"])
        value.savefig(path)
        paths.append(path)
    return figure_rst(paths, gallery_conf["src_dir"]) if paths else ""
