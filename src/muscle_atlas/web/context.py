"""What every page is rendered from: relative URLs, the typed site and page contexts, and the
sortable tables' cells. The atlas site and the study site build their contexts here."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from markupsafe import Markup

from muscle_atlas import __version__
from muscle_atlas.web.theme import ASSETS

DEFAULT_BASE_URL = "http://127.0.0.1:8000/"  # where `muscle-atlas serve` shows a site
_SAME = object()


def root(here: str) -> str:
    """From a page (a path below the site root, ending in "/", or "" for the home) to the root."""
    return "../" * here.count("/")


def url(here: str, target: str) -> str:
    """Relative URL from the page at ``here`` to ``target`` (a path below the site root)."""
    return (root(here) + target) or "./"


def public_url(base_url: str | None) -> str:
    """The address the site is published at: its base URL, or the local server's."""
    return base_url or DEFAULT_BASE_URL


def with_slash(address: str) -> str:
    return address if address.endswith("/") else address + "/"


@dataclass
class SiteContext:
    """The parts of the layout (``base.html``) every page of a site shares."""

    title: str
    root: str
    nav: list[dict]
    attribution_html: Markup | str
    notice: str | None
    css_url: str
    js_url: str
    search_url: str
    index_url: str
    favicon_url: str
    methods_url: str | None
    credits: list[dict] = field(default_factory=list)
    generator: str = f"muscle-atlas {__version__}"

    def from_root(self, path: str) -> SiteContext:
        """The same links from the site's root path (``/``): for a page shown at any depth (404)."""
        rooted = {k: (path + v if isinstance(v, str) and k.endswith("_url") else v) for k, v in asdict(self).items()}
        rooted["credits"] = [{**c, "url": path + c["url"]} for c in self.credits]
        rooted["nav"] = [
            {**n, "url": path + n["url"], "children": [{**c, "url": path + c["url"]} for c in n["children"]]}
            for n in self.nav
        ]
        return replace(self, **{**rooted, "root": path, "attribution_html": self.attribution_html})


def site_context(here: str, title: str, nav: list[dict], attribution_html: Markup | str, notice: str | None,
                 methods: bool, credits: list[dict] | None = None) -> SiteContext:  # fmt: skip
    """The layout's context of the page at ``here``: its links to the shared pages and assets."""
    return SiteContext(
        title=title, root=root(here), nav=nav, attribution_html=attribution_html, notice=notice,
        css_url=url(here, ASSETS + "site.css"), js_url=url(here, ASSETS + "site.js"), search_url=url(here, "search/"),
        index_url=url(here, "muscle/"), favicon_url=url(here, ASSETS + "favicon.svg"),
        methods_url=url(here, "methods/") if methods else None, credits=credits or [],
    )  # fmt: skip


@dataclass
class PageContext:
    """One page: what ``base.html`` needs, and whatever its own template shows (``extra``, read as
    attributes by the templates)."""

    kind: str
    title: str
    url: str  # the canonical address; empty without a configured base URL (no canonical link then)
    breadcrumbs: list[dict]
    subheadline: str = ""
    description: str = ""
    jsonld: Markup = field(default_factory=lambda: Markup(""))
    extra: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:  # Jinja looks here for what is not an attribute
        return self.extra[key]


def page_context(here: str, kind: str, title: str, crumbs: list[tuple[str, str]], base_url: str | None,
                 **extra: Any) -> PageContext:  # fmt: skip
    """A page's context: breadcrumbs from Home through ``crumbs`` (name, target), its canonical URL
    when the site has a base URL, and the fields of its template."""
    breadcrumbs = [{"name": "Home", "url": url(here, "")}]
    breadcrumbs += [{"name": name, "url": url(here, target)} for name, target in crumbs]
    fields = {k: extra.pop(k) for k in ("subheadline", "description", "jsonld") if k in extra}
    canonical = base_url + here if base_url else ""
    return PageContext(kind, title, canonical, breadcrumbs, **fields, extra=extra)


def cell(text: str, sort: Any = _SAME, url: str | None = None) -> dict:
    """A sortable table's cell: its text, the value it sorts by (the text itself unless given) and
    its link, where it has one."""
    out = {"text": text, "sort": text if sort is _SAME else sort}
    if url:
        out["url"] = url
    return out
