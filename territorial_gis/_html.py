"""Self-contained HTML: inline the scripts and styles of a folium page from vendored copies.

The vendored files live in ``territorial_gis/templates`` with their licences (see
``templates/VENDORED.md``): Leaflet 1.9.3 (BSD-2-Clause) and leaflet.fullscreen 3.0.0 (MIT),
both from the npm registry. Images referenced by their CSS are inlined as ``data:`` URIs.

Assets folium adds by default that the territorial-gis maps do not use (jQuery, Bootstrap,
Font Awesome, Leaflet.awesome-markers) are dropped; any other external script or style raises
:class:`~territorial_gis.errors.ConfigError`, so a self-contained page never silently depends on
the network.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from importlib import resources

from .errors import ConfigError

#: URL pattern -> vendored file
VENDORED: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"/leaflet(@[\d.]+)?/dist/leaflet\.js$"), "leaflet.js"),
    (re.compile(r"/leaflet(@[\d.]+)?/dist/leaflet\.css$"), "leaflet.css"),
    (re.compile(r"/leaflet\.fullscreen(@[\d.]+)?/Control\.FullScreen(\.min)?\.js$"), "Control.FullScreen.js"),
    (re.compile(r"/leaflet\.fullscreen(@[\d.]+)?/Control\.FullScreen\.css$"), "Control.FullScreen.css"),
)
#: folium defaults not used by territorial-gis maps (dropped from self-contained pages)
DROPPABLE: tuple[re.Pattern[str], ...] = (
    re.compile(r"jquery[^/]*\.js$"),
    re.compile(r"/bootstrap[@/][^\"']*bootstrap(\.bundle)?(\.min)?\.(js|css)$"),
    re.compile(r"bootstrap-glyphicons\.css$"),
    re.compile(r"fontawesome[^\"']*/all(\.min)?\.css$"),
    re.compile(r"font-awesome[^\"']*\.css$"),
    re.compile(r"leaflet\.awesome-markers(\.min)?\.(js|css)$"),
    re.compile(r"leaflet\.awesome\.rotate(\.min)?\.css$"),
)
_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif"}

_SCRIPT_RE = re.compile(r"<script\s+[^>]*?src=[\"'](?P<url>[^\"']+)[\"'][^>]*>\s*</script>", re.I)
_LINK_RE = re.compile(r"<link\s+[^>]*?href=[\"'](?P<url>[^\"']+)[\"'][^>]*?/?>", re.I)
_CSS_URL_RE = re.compile(r"url\((?P<q>[\"']?)(?P<name>[^)\"'#]+)(?P=q)\)")


@cache
def read_vendored(name: str) -> str:
    """Return the text of a vendored asset, CSS images inlined as data URIs."""
    base = resources.files("territorial_gis") / "templates"
    text = (base / name).read_text(encoding="utf-8")
    if name.endswith(".css"):
        def _data_uri(m: re.Match[str]) -> str:
            fname = m.group("name").split("/")[-1]
            res = base / fname
            ext = "." + fname.rsplit(".", 1)[-1].lower()
            if ext not in _MIME or not res.is_file():
                return m.group(0)
            b64 = base64.b64encode(res.read_bytes()).decode("ascii")
            return f'url("data:{_MIME[ext]};base64,{b64}")'

        text = _CSS_URL_RE.sub(_data_uri, text)
    return text


def _vendored_for(url: str) -> str | None:
    clean = url.split("?", 1)[0]
    for pattern, name in VENDORED:
        if pattern.search(clean):
            return name
    return None


def _droppable(url: str) -> bool:
    clean = url.split("?", 1)[0]
    return any(p.search(clean) for p in DROPPABLE)


def _is_stylesheet(tag: str) -> bool:
    return bool(re.search(r"rel=[\"']?stylesheet", tag, re.I))


def inline_assets(html: str) -> str:
    """Replace external ``<script src>`` and stylesheet ``<link>`` tags by inline copies.

    Parameters
    ----------
    html
        A rendered folium page.

    Returns
    -------
    str
        The page with vendored assets inlined and unused folium defaults removed.

    Raises
    ------
    ConfigError
        When the page references an external script or stylesheet with no vendored copy.
    """
    missing: list[str] = []

    def _inline(url: str, original: str, element: str) -> str:
        """The vendored copy of ``url`` inside a ``<script>``/``<style>`` element, a comment for
        an unused folium default, or ``original`` (recorded as missing)."""
        if url.startswith("data:"):
            return original
        name = _vendored_for(url)
        if name is not None:
            body = read_vendored(name).replace(f"</{element}", f"<\\/{element}")
            return f"<{element}>/* {name} (inlined from {url}) */\n{body}\n</{element}>"
        if _droppable(url):
            return f"<!-- dropped unused {url} -->"
        missing.append(url)
        return original

    def _script(m: re.Match[str]) -> str:
        return _inline(m.group("url"), m.group(0), "script")

    def _link(m: re.Match[str]) -> str:
        tag = m.group(0)
        return _inline(m.group("url"), tag, "style") if _is_stylesheet(tag) else tag

    out = _SCRIPT_RE.sub(_script, html)
    out = _LINK_RE.sub(_link, out)
    if missing:
        raise ConfigError("cannot write a self-contained map: no vendored copy of "
                          + ", ".join(sorted(set(missing))))
    return out


def external_references(html: str) -> list[str]:
    """Return the URLs of external scripts and stylesheets still referenced by ``html``."""
    refs = [m.group("url") for m in _SCRIPT_RE.finditer(html) if not m.group("url").startswith("data:")]
    refs += [m.group("url") for m in _LINK_RE.finditer(html)
             if _is_stylesheet(m.group(0)) and not m.group("url").startswith("data:")]
    return refs
