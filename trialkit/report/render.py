"""Render a report context to one self-contained HTML file, and that HTML to PDF (WeasyPrint).

Templates come from ``report_templates/`` (found with :mod:`trialkit.resources`); a user folder
given with ``--templates`` is searched first, so any file, e.g. ``sections/primary.html.j2``
(or just ``primary.html.j2``), can be replaced by name; a file of that name that is not a
regular file (a FIFO, a folder) is refused, not passed over. The shipped files stay reachable
under the ``default:`` prefix for templates that extend them. Every template runs in Jinja's
sandbox (no attribute starting with ``_``, no unsafe call) with autoescaping on; any error in a
template is an input error naming the template's file and line. The PDF fetches nothing.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any
from xml.etree import ElementTree

import jinja2
import jinja2.sandbox
from markupsafe import Markup

from trialkit.errors import InputError, RenderWarning, TemplateError
from trialkit.processes import signals_deferred
from trialkit.report.formatting import display_text
from trialkit.resources import templates_dir

ENTRY_TEMPLATE = "report.html.j2"
#: The most items (characters) one ``*`` in a template may build, and bits one ``**`` may.
MAX_TEMPLATE_SEQUENCE = 1_000_000
MAX_TEMPLATE_POWER_BITS = 4096

_SVG_NS = "{http://www.w3.org/2000/svg}"
_XLINK_NS = "{http://www.w3.org/1999/xlink}"
#: The elements matplotlib writes (and a few plain shapes); anything else is not a figure.
_SVG_ELEMENTS = frozenset(
    {"svg", "g", "defs", "style", "path", "use", "clipPath", "rect", "text", "tspan", "image",
     "title", "desc", "line", "polyline", "polygon", "circle", "ellipse", "linearGradient",
     "radialGradient", "stop", "pattern", "mask", "symbol"}
)  # fmt: skip


class _UserLoader(jinja2.FileSystemLoader):
    """The user's folder; a section may also sit at the folder's top level."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        """The template from the user's folder, a section also at its top level."""
        try:
            return self._read(environment, template)
        except jinja2.TemplateNotFound:
            if not template.startswith("sections/"):
                raise
        return self._read(environment, template.removeprefix("sections/"))

    def _read(
        self, environment: jinja2.Environment, name: str
    ) -> tuple[str, str, Callable[[], bool]]:
        """One file of the folder; an unreadable one, or one that is there but is not a regular
        file (a FIFO would block the read; Jinja would pass over it), is a template error
        naming it."""
        path = Path(self.searchpath[0], *jinja2.loaders.split_template_path(name))
        if os.path.lexists(path) and not path.is_file():
            raise TemplateError(f"{path}: template error: not a regular file")
        try:
            return super().get_source(environment, name)
        except jinja2.TemplateNotFound:  # an OSError too
            raise
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise TemplateError(f"{path}: template error: cannot read: {reason}") from None


class _Sandbox(jinja2.sandbox.SandboxedEnvironment):
    """Jinja's sandbox, with ``*`` and ``**`` bounded so a template cannot exhaust memory or CPU."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        """``left operator right``, refused when its result would be unreasonably large."""
        if operator == "*" and _product_size(left, right) > MAX_TEMPLATE_SEQUENCE:
            raise jinja2.sandbox.SecurityError(
                f"'*' would build more than {MAX_TEMPLATE_SEQUENCE:,} items"
            )
        if operator == "**" and _power_bits(left, right) > MAX_TEMPLATE_POWER_BITS:
            raise jinja2.sandbox.SecurityError(
                f"'**' would build a number of more than {MAX_TEMPLATE_POWER_BITS} bits"
            )
        return super().call_binop(context, operator, left, right)


def _product_size(left: Any, right: Any) -> int:
    """Length of ``left * right`` when one side is a sequence and the other a count, else 0."""
    for seq, count in ((left, right), (right, left)):
        if isinstance(seq, str | bytes | list | tuple) and isinstance(count, int):
            return len(seq) * max(count, 0)
    return 0


def _power_bits(base: Any, exponent: Any) -> int:
    """Bits of the integer ``base ** exponent`` (0 for anything else)."""
    if isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1 and exponent > 0:
        return exponent * abs(base).bit_length()
    return 0


def _finalize(value: Any) -> Any:
    """Every printed value: text as :func:`display_text` shows it; markup (figures) as it is."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return display_text(value)
    return value


def safe_svg(svg: str) -> Markup:
    """Mark a figure's SVG (made by :mod:`trialkit.report.figures`) safe to embed.

    Only the markup is checked, never the text (matplotlib escapes it): one ``<svg>`` element of
    the elements figures use, no event handler, links only within the document (or ``data:``
    images), so a template cannot be tricked into embedding raw HTML or script.
    """
    text = str(svg).strip()
    if "<!" in text:  # no DOCTYPE, entity, CDATA or comment: nothing that hides markup
        raise ValueError("refusing to embed a figure with declarations or comments")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise ValueError(f"refusing to embed a figure that is not well-formed SVG: {exc}") from None
    if root.tag.removeprefix(_SVG_NS) != "svg":
        raise ValueError("refusing to embed a figure that is not an <svg> element")
    for element in root.iter():
        name = element.tag.removeprefix(_SVG_NS)
        if name not in _SVG_ELEMENTS:
            raise ValueError(f"refusing to embed a figure with a <{name}> element")
        for key, value in element.attrib.items():
            attr = key.removeprefix(_XLINK_NS)
            if attr.lower().startswith("on") or "javascript:" in value.lower():
                raise ValueError(f"refusing to embed a figure with a script ({attr})")
            if attr == "href" and not value.startswith(("#", "data:image/")):
                raise ValueError(f"refusing to embed a figure linking outside it ({value[:40]})")
        if name == "style" and (
            "@import" in (element.text or "") or "url(" in (element.text or "")
        ):
            raise ValueError("refusing to embed a figure whose style loads a resource")
    return Markup(text)


def environment(user_templates: Path | None = None) -> jinja2.Environment:
    """The sandboxed Jinja environment: the user's folder (if any) before the shipped templates."""
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
    env = _Sandbox(
        loader=loader,
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )
    env.filters["safe_svg"] = safe_svg
    return env


def _template_frame(tb: TracebackType | None) -> tuple[str, int] | None:
    """File and line of the innermost template frame of a traceback (Jinja rewrites them)."""
    found = None
    while tb is not None:
        if "__jinja_exception__" in tb.tb_frame.f_globals:
            found = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def template_error(exc: Exception) -> TemplateError | None:
    """The one-line error for an exception raised by a template, or ``None`` if none was."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where: tuple[str, int] | None = (str(exc.filename or exc.name), exc.lineno)
    else:
        where = _template_frame(exc.__traceback__)
    if where is None and not isinstance(exc, jinja2.TemplateError):
        return None  # not the template's doing
    if isinstance(exc, jinja2.TemplateNotFound):
        detail = f"template not found: {exc.name}"
    elif isinstance(exc, jinja2.TemplateError):
        detail = str(exc.message)
    else:
        detail = f"{type(exc).__name__}: {exc}"
    prefix = f"{where[0]}:{where[1]}: " if where else ""
    return TemplateError(f"{prefix}template error: {' '.join(detail.split())}")


def render_html(context: dict[str, Any], user_templates: Path | None = None) -> str:
    """The report as one HTML document (no external scripts, styles, fonts or images)."""
    env = environment(user_templates)
    try:
        return env.get_template(ENTRY_TEMPLATE).render(**context)
    except TemplateError:
        raise  # already names its file
    except Exception as exc:  # a template can raise anything (1 / 0, a bad filter argument)
        error = template_error(exc)
        if error is None:
            raise
        raise error from None


class _Collect(logging.Handler):
    """Collects the messages of WeasyPrint's errors (resources it could not load)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the first line of the message."""
        self.messages.append((record.getMessage().splitlines() or [""])[0])


def _data_only_fetcher(weasyprint: Any, refused: list[str]) -> Any:
    """A WeasyPrint URL fetcher that reads ``data:`` URLs only and records every other URL."""

    class DataOnly(weasyprint.URLFetcher):
        """Serves ``data:`` URLs; anything else (network, disk) is refused, never opened."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            """The resource of a ``data:`` URL; any other URL is recorded and refused."""
            if not url.lower().startswith("data:"):
                refused.append(url)
                raise ValueError(f"not fetched: {url}")
            return super().fetch(url, headers)

    return DataOnly(allow_redirects=False)


def render_pdf(html: str, path: Path) -> None:
    """Write the HTML as a PDF with its print stylesheet (page numbers, running header).

    Nothing is fetched, from the network or the disk: only ``data:`` URLs are read. Each
    refused URL, and each other resource WeasyPrint could not load, is a :class:`RenderWarning`.
    Markup WeasyPrint cannot lay out (a template's 5,000 nested elements) is an input error.
    """
    try:
        with signals_deferred():  # its library search runs the compiler on temporary files
            import weasyprint
    except (ImportError, OSError) as exc:  # OSError: pango missing
        raise InputError(
            f"PDF output needs WeasyPrint and pango (pip install 'trialkit[pdf]'): {exc}"
        ) from None
    if not hasattr(weasyprint, "URLFetcher"):
        raise InputError(f"PDF output needs WeasyPrint 70 or later, not {weasyprint.__version__}")
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    refused: list[str] = []
    logger, collect = logging.getLogger("weasyprint"), _Collect()
    saved = logger.level, logger.propagate
    logger.addHandler(collect)
    logger.setLevel(logging.ERROR)
    logger.propagate = False  # its messages become warnings below, not lines on stderr
    try:
        fetcher = _data_only_fetcher(weasyprint, refused)
        document = weasyprint.HTML(string=html, url_fetcher=fetcher, base_url=None)
        document.write_pdf(str(path), uncompressed_pdf=False)
    except Exception as exc:  # WeasyPrint fails on some markup a template can write
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        raise InputError(f"{path.name}: WeasyPrint cannot lay out the HTML: {detail}") from None
    finally:
        logger.removeHandler(collect)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
    messages = [f"not fetched (a report loads nothing from outside): {url}" for url in refused]
    messages += [m for m in collect.messages if not any(url in m for url in refused)]
    for message in dict.fromkeys(messages):
        warnings.warn(f"{path.name}: {message}", RenderWarning, stacklevel=2)
