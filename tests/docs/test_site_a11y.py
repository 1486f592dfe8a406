"""Accessibility of the built site, in the same headless Chromium as the other browser checks.

axe-core (pinned, fetched by tests/_support/axe.py) runs its WCAG 2.1 A and AA rules on every
page of the site, once in the light and once in the dark colour scheme; a failure lists each
violation as scheme, page, rule and element. The tutorial is then walked with the keyboard
alone: the skip link, every link and copy button, a visible focus on each stop, and search.

The site chrome (`CHROME`: header, tabs, the primary navigation, footer) is one template on
every page, and checking it was about a third of axe's work on a page (35 pages, both ways:
92 s of CPU in full, 74 s with the chrome left out, 34-38 s of it the page loads). So axe checks
the whole page, chrome included, on the first page of each folder of the site (`FULL_PAGES`:
the home page, the 404 page and one page per section, each showing its own section's
navigation expanded, its tab and nav item active and the table of contents), and every other
page without the chrome. Every page's content, table of contents (its own headings) and
skip link are checked on every page, in both schemes; what a chrome-less page leaves
unchecked is only its chrome's own text (its title in the header, the active nav item's
name, the footer's previous/next titles), which are page titles checked as the pages' own
`<h1>` and as the section pages' navigation.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._support.axe import WCAG_TAGS, AxeUnavailable, axe_script
from tests._support.browser import assert_clean, sync_api_timeout
from tests._support.docs_project import ROOT

pytestmark = pytest.mark.browser

DOCS = ROOT / "docs"
TUTORIAL = "tutorials/server-connection/"
MISSING_PAGE = "no-such-page/"
SCHEMES = {"light": "default", "dark": "slate"}
"""Scheme name in test ids and reports -> Material's `data-md-color-scheme` value."""
TOGGLE = "form[data-md-component=palette] label.md-header__button:visible"
SCHEME = "document.body.getAttribute('data-md-color-scheme')"
PALETTE = "document.body.getAttribute('data-md-color-media')"  # one per palette
MAX_REPORTED = 40

CHROME = ["header.md-header", "nav.md-tabs", ".md-sidebar--primary", "footer.md-footer"]
"""The theme's chrome: the same template on every page (see the module docstring)."""

RUN_AXE = """async ([tags, exclude]) => {
  const context = exclude.length ? {exclude: exclude.map(selector => [selector])} : document;
  const result = await axe.run(context, {runOnly: {type: 'tag', values: tags},
                                         resultTypes: ['violations']});
  return result.violations.flatMap(v => v.nodes.map(n => ({
    rule: v.id, help: v.help, element: n.target.join(' '),
    html: n.html.replace(/\\s+/g, ' ').slice(0, 160),
    why: (n.failureSummary || '').replace(/\\s+/g, ' ').trim()})));
}"""

SKIP_LINK = """() => {
  const skip = document.querySelector('a.md-skip[href^="#"]');
  if (!skip) return 'no skip-to-content link';
  const id = decodeURIComponent(skip.getAttribute('href').slice(1));
  return document.getElementById(id) ? '' : `skip link points at a missing #${id}`;
}"""

MARK_TARGETS = """() => {
  const shown = e => e.checkVisibility({visibilityProperty: true}) && e.getClientRects().length;
  const all = [...document.querySelectorAll('a[href], button, input, [tabindex]')];
  all.forEach((e, i) => { e.dataset.kbd = String(i); });
  return all.filter(e => shown(e) && e.matches(
      'a[href], button[data-md-type=copy], button.md-clipboard'))
    .map(e => ({id: e.dataset.kbd, what: `${e.tagName.toLowerCase()} ${e.className} ` +
                `${e.dataset.mdType || ''} ${e.getAttribute('href') || e.title || ''}`}));
}"""

ACTIVE = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  // A colour toggle is a hidden radio input: its label is what shows the focus.
  const shown = e.matches('input.md-option') ? e.nextElementSibling : e;
  const style = getComputedStyle(shown);
  const alpha = (style.outlineColor.match(/rgba\\([^)]*,\\s*([\\d.]+)\\)/) || [0, '1'])[1];
  return {id: e.dataset.kbd || '', what: `${e.tagName.toLowerCase()} ${e.className}`,
          focus: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`,
          visible: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 1 &&
                   parseFloat(alpha) >= 0.5};
}"""


@pytest.fixture
def site_page(browser_page):
    """The shared page, with the console errors earlier tests left behind dropped."""
    browser_page[2]["console"].clear()
    return browser_page


@pytest.fixture(scope="module")
def axe_page(browser_page):
    """The shared page with axe-core in every document it loads: an init script is sent to
    the browser once, where evaluating the 650 KB source after each navigation sent it again
    each time (8 page loads: 6.5 s instead of 7.5-9.6 s, same load)."""
    try:
        source = axe_script()
    except AxeUnavailable as exc:
        pytest.fail(f"error: {exc}")
    browser_page[0].context.add_init_script(source)
    return browser_page


def page_path(source: Path) -> str:
    """The URL path MkDocs gives a page of docs/ (`how-to/x.md` -> `how-to/x/`)."""
    parts = source.relative_to(DOCS).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "index" else parts
    return "/".join(parts) + "/" if parts else ""


PAGES = sorted(page_path(md) for md in DOCS.rglob("*.md")) + [MISSING_PAGE]
"""Every page, known before the site is built so that each is its own test."""


def first_of_each_folder(pages: list[str]) -> set[str]:
    """The first page of each folder of the site (`how-to/`, `reference/api/`, ...), the home
    page and the 404 page: where axe checks the chrome too."""
    first: dict[str, str] = {}
    for path in pages:
        first.setdefault(path.rstrip("/").rpartition("/")[0], path)
    return set(first.values()) | {MISSING_PAGE}


FULL_PAGES = first_of_each_folder(PAGES)


def site_pages(site: Path) -> list[str]:
    """Every page of the built site as a URL path, plus a missing page (the 404 page)."""
    pages = sorted(p.parent.relative_to(site).as_posix() + "/" for p in site.rglob("index.html"))
    return ["" if p == "./" else p for p in pages] + [MISSING_PAGE]


def open_in_scheme(page, url: str, scheme: str) -> None:
    """Load `url` in `scheme`, picked with the header's toggle as a reader does. Material keeps
    the choice in localStorage, so later pages open in it; after a switch the page is reloaded,
    so that no colour is caught halfway through the theme's transition."""
    page.goto(url)
    if page.evaluate(SCHEME) == scheme:
        return
    for _click in range(4):  # the toggle cycles through three palettes
        before = page.evaluate(PALETTE)
        page.locator(TOGGLE).first.click()
        page.wait_for_function(f"before => {PALETTE} !== before", arg=before)
        if page.evaluate(SCHEME) == scheme:
            break
    page.reload()
    assert page.evaluate(SCHEME) == scheme, f"the palette toggle never reached {scheme}"


def describe(problems: list[str]) -> str:
    more = len(problems) - MAX_REPORTED
    return "\n".join(problems[:MAX_REPORTED] + ([f"... and {more} more"] if more > 0 else []))


def test_the_check_covers_every_built_page(built_site):
    site, _problems = built_site
    assert site_pages(site) == PAGES


@pytest.mark.parametrize("path", PAGES, ids=[p.rstrip("/") or "home" for p in PAGES])
@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_page_has_no_wcag_violations(site_page, axe_page, scheme, path):
    page, base, events = site_page
    name = path or "home"
    open_in_scheme(page, base + path, SCHEMES[scheme])
    exclude = [] if path in FULL_PAGES else CHROME
    # What is left out must be there: a page whose template differs is checked in full.
    missing = page.evaluate("sels => sels.filter(s => document.querySelectorAll(s).length !== 1)",
                            exclude)
    assert not missing, f"{name}: the chrome left to the full checks is not one of each: {missing}"
    problems = [f"{scheme} {name}: {v['rule']} ({v['help']}) at `{v['element']}` {v['html']} "
                f"-- {v['why']}" for v in page.evaluate(RUN_AXE, [list(WCAG_TAGS), exclude])]
    if skip := page.evaluate(SKIP_LINK):
        problems.append(f"{scheme} {name}: {skip}")
    assert not problems, f"{len(problems)} accessibility problems:\n" + describe(problems)
    assert_clean(page, events, allow_404=path == MISSING_PAGE)


def test_skip_link_moves_the_keyboard_to_the_content(site_page):
    page, base, events = site_page
    page.goto(base + TUTORIAL)
    page.keyboard.press("Tab")
    skip = page.evaluate("document.activeElement.matches('a.md-skip') && "
                         "document.activeElement.getAttribute('href')")
    assert skip, "the first Tab does not land on the skip-to-content link"
    page.keyboard.press("Enter")
    # The fragment navigation reaches Playwright's `page.url` by an event of its own, after
    # the key press returns: wait for it (bounded by the page's timeout), do not read it at once.
    page.wait_for_url(lambda url: url.endswith(skip), wait_until="commit")
    page.keyboard.press("Tab")
    assert page.evaluate("!!document.activeElement.closest('.md-content')"), \
        "after the skip link, Tab does not continue in the page content"
    assert_clean(page, events)


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_tutorial_by_tab_alone_reaches_every_link_and_copy_button(site_page, scheme):
    page, base, events = site_page
    open_in_scheme(page, base + TUTORIAL, SCHEMES[scheme])
    targets = {t["id"]: t["what"] for t in page.evaluate(MARK_TARGETS)}
    assert sum(" copy " in w or "clipboard" in w for w in targets.values()) >= 3, targets
    stops: list[dict] = []
    for _tab in range(2 * page.evaluate("document.querySelectorAll('[data-kbd]').length")):
        page.keyboard.press("Tab")
        stop = page.evaluate(ACTIVE)
        if stop is None or (stops and stop["id"] == stops[0]["id"]):
            break  # past the last stop: focus left the page, or wrapped around
        stops.append(stop)
    reached = {s["id"] for s in stops}
    missed = [what for id_, what in targets.items() if id_ not in reached]
    assert not missed, f"Tab never reaches {len(missed)} of {len(targets)}:\n" + describe(missed)
    unseen = [f"{s['what']} (outline: {s['focus']})" for s in stops if not s["visible"]]
    assert not unseen, "focus is not visible on:\n" + describe(unseen)
    assert_clean(page, events)


def test_search_by_keyboard_alone(site_page):
    page, base, events = site_page
    page.goto(base + TUTORIAL)
    page.wait_for_load_state("networkidle")
    for _tab in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('input.md-search__input')"):
            break
    else:
        pytest.fail("ten Tabs from the top never reach the search field")
    # A query typed before the worker has loaded the index is dropped: retype (bounded).
    for _attempt in range(4):
        page.keyboard.press("Control+A")
        page.keyboard.type("login", delay=30)
        try:
            page.wait_for_selector("a.md-search-result__link", state="attached", timeout=5000)
            break
        except sync_api_timeout():
            continue
    page.keyboard.press("ArrowDown")
    href = page.evaluate("document.activeElement.matches('a.md-search-result__link') && "
                         "document.activeElement.href")
    assert href, "ArrowDown from the search field does not move to the first result"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == href
    assert_clean(page, events)
