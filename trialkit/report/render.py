"""Render a report context to one self-contained HTML file, and that HTML to PDF (WeasyPrint).

Templates come from ``report_templates/`` (found with :mod:`trialkit.resources`); a user folder
given with ``--templates`` is searched first, so any file, e.g. ``sections/primary.html.j2``
(or just ``primary.html.j2``), can be replaced by name. The shipped files stay reachable under
the ``default:`` prefix for templates that extend them. Autoescaping is on for everything.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from trialkit.errors import InputError
from trialkit.resources import templates_dir

ENTRY_TEMPLATE = "report.html.j2"


class _UserLoader(jinja2.FileSystemLoader):
    """The user's folder; a section may also sit at the folder's top level."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        """The template from the user's folder, a section also at its top level."""
        try:
            return super().get_source(environment, template)
        except jinja2.TemplateNotFound:
            if template.startswith("sections/"):
                return super().get_source(environment, template.removeprefix("sections/"))
            raise


def safe_svg(svg: str) -> Markup:
    """Mark a figure's SVG (made by :mod:`trialkit.report.figures`) safe to embed.

    Matplotlib escapes every text it writes; this refuses anything that is not a plain
    ``<svg>`` element or that carries script, so a template cannot be tricked into raw HTML.
    """
    text = str(svg).strip()
    if not text.startswith("<svg") or re.search(r"<\s*script|\son\w+\s*=|javascript:", text, re.I):
        raise ValueError("refusing to embed a figure that is not plain SVG")
    return Markup(text)


def environment(user_templates: Path | None = None) -> jinja2.Environment:
    """The Jinja environment: the user's folder (if any) before the shipped templates."""
    shipped = jinja2.FileSystemLoader(str(templates_dir()))
    loaders: list[jinja2.BaseLoader] = []
    if user_templates is not None:
        if not Path(user_templates).is_dir():
            raise InputError(f"{user_templates}: templates folder not found")
        loaders.append(_UserLoader(str(user_templates)))
    loaders.append(shipped)
    loader = jinja2.ChoiceLoader(
        [jinja2.PrefixLoader({"default": shipped}, delimiter=":"), *loaders]
    )
    env = jinja2.Environment(
        loader=loader,
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )
    env.filters["safe_svg"] = safe_svg
    return env


def render_html(context: dict[str, Any], user_templates: Path | None = None) -> str:
    """The report as one HTML document (no external scripts, styles, fonts or images)."""
    env = environment(user_templates)
    try:
        template = env.get_template(ENTRY_TEMPLATE)
        return template.render(**context)
    except jinja2.TemplateSyntaxError as exc:
        where = f"{exc.filename or exc.name}:{exc.lineno}"
        raise InputError(f"{where}: template error: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise InputError(f"report template not found: {exc.name}") from None
    except jinja2.UndefinedError as exc:
        raise InputError(f"report template uses an undefined value: {exc.message}") from None


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """WeasyPrint URL fetcher that fetches nothing: the HTML must be self-contained."""
    raise ValueError(f"external resource refused: {url}")


def render_pdf(html: str, path: Path) -> None:
    """Write the HTML as a PDF with its print stylesheet (page numbers, running header)."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: pango missing
        raise InputError(
            f"PDF output needs WeasyPrint and pango (pip install 'trialkit[pdf]'): {exc}"
        ) from None
    import logging

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    document = weasyprint.HTML(string=html, url_fetcher=_no_fetch, base_url=None)
    document.write_pdf(str(path), uncompressed_pdf=False)
