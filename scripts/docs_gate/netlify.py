"""Check 7: netlify.toml builds like ./scripts/build, keeps old URLs, and sends safe headers.

- `[build]`: the command bootstraps from the lock and runs the strict gate; `publish = "site"`;
  `PYTHON_VERSION` pinned to the project's Python.
- Deploy previews set `site_url` from `DEPLOY_PRIME_URL` (mkdocs.yml reads it with `!ENV`).
- Every `[[redirects]]` target exists in site/, no redirect is shadowed by a real file, and the
  docfx-era `.html` URLs of the original pages and `explanation/` are covered.
- `[[headers]]`: the CSP allows exactly what the built site uses (the hashes of its inline
  scripts, data: images from Material's CSS, nothing from other hosts), plus nosniff,
  Referrer-Policy, frame-ancestors/X-Frame-Options and HSTS. Long immutable caching only on
  content-hashed files. `404.html` only uses root-relative asset URLs (works at any depth).
"""

from __future__ import annotations

import base64
import hashlib
import re
import tomllib
from pathlib import Path

from scripts.docs_gate._common import ROOT, Options, Problem, Result
from scripts.docs_gate._serve import netlify_pattern

ORIGINAL_PAGES = (
    "tutorials/server-connection", "how-to/authenticate", "how-to/sync-to-server",
    "how-to/sync-workspaces", "how-to/use-saas-dashboard", "how-to/run-local-server",
    "explanations/sync-architecture",
)
"""Pages of the docfx-era site, whose `PAGE.html` URLs must keep working."""

_INLINE_SCRIPT = re.compile(r"<script(\s[^>]*)?>(.*?)</script>", re.S | re.I)
_STYLE_ATTR = re.compile(r"""<[a-z][^>]*\sstyle=["']""", re.I)
_STYLE_TAG = re.compile(r"<style\b", re.I)
_ASSET_URL = re.compile(r"""<(?:script|link|img|source)\b[^>]*?\s(?:src|href)=["']([^"']+)["']""",
                        re.I)
_HASHED = re.compile(r"\.[0-9a-f]{8,}\.")
ONE_YEAR = 31536000


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    return 0


def inline_script_hashes(site: Path) -> set[str]:
    """CSP source expressions (`'sha256-...'`) of every executable inline script in site/."""
    hashes = set()
    for page in site.rglob("*.html"):
        for match in _INLINE_SCRIPT.finditer(page.read_text(encoding="utf-8", errors="replace")):
            attrs = (match.group(1) or "").lower()
            if "src=" in attrs or ("type=" in attrs and "javascript" not in attrs
                                   and "module" not in attrs):
                continue
            digest = hashlib.sha256(match.group(2).encode("utf-8")).digest()
            hashes.add(f"'sha256-{base64.b64encode(digest).decode()}'")
    return hashes


def parse_csp(value: str) -> dict[str, list[str]]:
    """Split a Content-Security-Policy value into directive -> sources."""
    out: dict[str, list[str]] = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


def _check_build(data: dict, text: str, result: Result) -> None:
    build = data.get("build", {})
    where = f"netlify.toml:{_line_of(text, '[build]')}"
    command = build.get("command", "")
    if "scripts/build" not in command and not ("uv sync --frozen" in command
                                               and "mkdocs build --strict" in command):
        result.problems.append(Problem(where, f"[build] command {command!r} must bootstrap from the"
                                       " lock and run the gate (./scripts/build)"))
    if build.get("publish", "").strip("/") != "site":
        result.problems.append(Problem(where, '[build] publish must be "site"'))
    version = build.get("environment", {}).get("PYTHON_VERSION", "")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = re.search(r">=\s*(\d+\.\d+)", pyproject["project"].get("requires-python", ""))
    if not re.fullmatch(r"\d+\.\d+(\.\d+)?", version) or (wanted and not
                                                            version.startswith(wanted.group(1))):
        result.problems.append(Problem(where, f"[build.environment] PYTHON_VERSION must pin the "
                                       f"project's Python ({wanted.group(1) if wanted else '?'}),"
                                       f" not {version!r}"))
    preview = data.get("context", {}).get("deploy-preview", {})
    preview_cmd = preview.get("command", "")
    match = re.search(r"([A-Z_][A-Z0-9_]*)=\"?\$\{?DEPLOY_PRIME_URL", preview_cmd)
    if not match:
        result.problems.append(Problem(
            f"netlify.toml:{_line_of(text, 'deploy-preview')}",
            "[context.deploy-preview] command must set the site URL from $DEPLOY_PRIME_URL, "
            'e.g. SITE_URL="$DEPLOY_PRIME_URL/" ./scripts/build'))
        return
    variable = match.group(1)
    mkdocs = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    site_url = re.search(r"^site_url:\s*(.*)$", mkdocs, re.M)
    if not site_url or "!ENV" not in site_url.group(1) or variable not in site_url.group(1):
        line = mkdocs[:site_url.start()].count("\n") + 1 if site_url else 1
        result.problems.append(Problem(
            f"mkdocs.yml:{line}", f"site_url must read ${variable} for deploy previews: "
            f'site_url: !ENV [{variable}, "https://spec-kitty-sync.netlify.app/"]'))


def _check_redirects(data: dict, text: str, site: Path, result: Result) -> int:
    redirects = data.get("redirects", [])
    froms = {r.get("from", "") for r in redirects}
    for rule in redirects:
        source, target = rule.get("from", ""), rule.get("to", "")
        where = f"netlify.toml:{_line_of(text, f'from = {source!r}'.replace(chr(39), chr(34)))}"
        path = target.split("#")[0].split("?")[0]
        if path.startswith(("http://", "https://")):
            continue
        base = path.replace(":splat", "").lstrip("/")
        if re.search(r":\w+", base):
            base = base[:base.find(":")]
        local = site / base
        ok = local.is_dir() and (":splat" in path or (local / "index.html").is_file()) \
            or local.is_file()
        if not ok:
            result.problems.append(Problem(where, f"redirect {source} -> {target}: the target is "
                                           "not in the built site; fix `to` or restore the page"))
        shadow = site / source.lstrip("/")
        if "*" not in source and ":" not in source and shadow.is_file() and not rule.get("force"):
            result.problems.append(Problem(where, f"redirect {source} never fires: site/ has that "
                                           "file (add force = true or drop the rule)"))
    for page in ORIGINAL_PAGES:
        if f"/{page}.html" not in froms:
            result.problems.append(Problem("netlify.toml", f"no redirect for the docfx-era URL "
                                           f"/{page}.html; add one to /{page}/"))
    if not any(r.get("from") == "/explanation/*" and r.get("to") == "/explanations/:splat"
               for r in redirects):
        result.problems.append(Problem("netlify.toml", "no redirect /explanation/* -> "
                                       "/explanations/:splat"))
    return len(redirects)


def _site_needs(site: Path) -> dict[str, object]:
    needs: dict[str, object] = {"style_attr": [], "style_tag": [], "external": set()}
    for page in site.rglob("*.html"):
        markup = page.read_text(encoding="utf-8", errors="replace")
        if _STYLE_ATTR.search(markup):
            needs["style_attr"].append(str(page.relative_to(site)))  # type: ignore[union-attr]
        if _STYLE_TAG.search(markup):
            needs["style_tag"].append(str(page.relative_to(site)))  # type: ignore[union-attr]
        for match in _ASSET_URL.finditer(markup):
            url = match.group(1)
            tag = markup[markup.rfind("<", 0, match.start(1)):match.start(1)]
            if url.startswith(("http://", "https://", "//")) and not re.search(
                    r"rel=[\"'](canonical|alternate|next|prev)", tag):
                needs["external"].add(url)  # type: ignore[union-attr]
    css_data = any("data:" in p.read_text(encoding="utf-8", errors="replace")
                   for p in site.rglob("*.css"))
    needs["data_images"] = css_data
    return needs


def _check_headers(data: dict, text: str, site: Path, result: Result) -> None:
    rules = data.get("headers", [])
    catch_all = next((r for r in rules if r.get("for") == "/*"), None)
    if catch_all is None:
        result.problems.append(Problem("netlify.toml", 'no [[headers]] for = "/*" with the '
                                       "security headers"))
        return
    where = f"netlify.toml:{_line_of(text, 'Content-Security-Policy')}"
    values = {k.lower(): str(v) for k, v in catch_all.get("values", {}).items()}
    if values.get("x-content-type-options", "").lower() != "nosniff":
        result.problems.append(Problem(where, "X-Content-Type-Options must be nosniff"))
    if not values.get("referrer-policy"):
        result.problems.append(Problem(where, "Referrer-Policy is missing"))
    if values.get("x-frame-options", "").upper() not in ("DENY", "SAMEORIGIN"):
        result.problems.append(Problem(where, "X-Frame-Options must be DENY or SAMEORIGIN"))
    hsts = re.search(r"max-age=(\d+)", values.get("strict-transport-security", ""))
    if not hsts or int(hsts.group(1)) < ONE_YEAR:
        result.problems.append(Problem(where, "Strict-Transport-Security needs max-age of at "
                                       "least one year"))
    csp = parse_csp(values.get("content-security-policy", ""))
    if not csp:
        result.problems.append(Problem(where, "Content-Security-Policy is missing"))
        return
    if "default-src" not in csp:
        result.problems.append(Problem(where, "CSP needs a default-src"))
    if "frame-ancestors" not in csp:
        result.problems.append(Problem(where, "CSP needs frame-ancestors"))
    scripts = csp.get("script-src", csp.get("default-src", []))
    for bad in ("'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:", "data:"):
        if bad in scripts:
            result.problems.append(Problem(where, f"CSP script-src must not allow {bad}"))
    used = inline_script_hashes(site)
    allowed = {s for s in scripts if s.startswith("'sha256-")}
    missing, unused = sorted(used - allowed), sorted(allowed - used)
    if missing or unused:
        wanted = " ".join(["'self'", *sorted(used)])
        result.problems.append(Problem(
            where, f"CSP script-src does not match the site's inline scripts ({len(missing)} "
            f"missing, {len(unused)} unused); set it to exactly:", f"script-src {wanted}"))
    needs = _site_needs(site)
    styles = csp.get("style-src", csp.get("default-src", []))
    if (needs["style_attr"] or needs["style_tag"]) and "'unsafe-inline'" not in styles:
        pages = (needs["style_attr"] or needs["style_tag"])[:3]  # type: ignore[index]
        result.problems.append(Problem(where, f"the site uses inline styles ({', '.join(pages)}) "
                                       "that style-src blocks; remove them or allow them"))
    images = csp.get("img-src", csp.get("default-src", []))
    if needs["data_images"] and "data:" not in images:
        result.problems.append(Problem(where, "Material's CSS uses data: images; img-src needs "
                                       "data:"))
    if not needs["data_images"] and "data:" in images:
        result.problems.append(Problem(where, "img-src allows data: but the site does not use it"))
    if needs["external"]:
        result.problems.append(Problem("site/", "the site loads assets from other hosts: "
                                       f"{', '.join(sorted(needs['external'])[:5])}; serve them "
                                       "from the site"))
    files = [p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()]
    for rule in rules:
        cache = str({k.lower(): v for k, v in rule.get("values", {}).items()}
                    .get("cache-control", ""))
        age = re.search(r"max-age=(\d+)", cache)
        if "immutable" not in cache and not (age and int(age.group(1)) > 86400):
            continue
        pattern = netlify_pattern(rule.get("for", ""))
        hit = [f for f in files if pattern.match("/" + f)]
        line = f"netlify.toml:{_line_of(text, rule.get('for', ''))}"
        if not hit:
            result.problems.append(Problem(line, f"long caching for {rule.get('for')} matches no "
                                           "file in site/"))
        unhashed = [f for f in hit if not _HASHED.search(f)]
        if unhashed:
            result.problems.append(Problem(line, f"long caching for {rule.get('for')} covers files "
                                           f"without a content hash: {', '.join(unhashed[:3])}"))


def _check_404(site: Path, result: Result) -> None:
    page = site / "404.html"
    if not page.is_file():
        result.problems.append(Problem("site/404.html", "missing"))
        return
    markup = page.read_text(encoding="utf-8", errors="replace")
    relative = [m.group(1) for m in _ASSET_URL.finditer(markup)
                if not m.group(1).startswith(("/", "http://", "https://", "data:", "#"))]
    if relative:
        result.problems.append(Problem("site/404.html", "uses relative asset URLs, so it breaks "
                                       f"below the root ({', '.join(relative[:3])}); set site_url"))


def run(options: Options) -> Result:
    """Parse netlify.toml and check it against the built site."""
    result = Result("netlify", unit="rules")
    path = ROOT / "netlify.toml"
    if not path.is_file():
        result.problems.append(Problem("netlify.toml", "missing"))
        return result
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        result.problems.append(Problem("netlify.toml", f"not valid TOML: {exc}"))
        return result
    _check_build(data, text, result)
    count = _check_redirects(data, text, options.site_dir, result)
    _check_headers(data, text, options.site_dir, result)
    _check_404(options.site_dir, result)
    result.count = count + len(data.get("headers", []))
    result.summary = f"{count} redirects, {len(data.get('headers', []))} header rules, " \
                     f"{len(inline_script_hashes(options.site_dir))} inline-script hashes"
    return result
