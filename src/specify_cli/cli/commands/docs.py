"""`spec-kitty docs`: print (or open) the documentation URL for a topic."""

from __future__ import annotations

import typer


def docs_command(
    topic: str = typer.Argument(None, metavar="[TOPIC]",
                                help="A topic such as `login` or `sync`; omit it for the home "
                                "page. `--list` shows them all."),
    open_browser: bool = typer.Option(False, "--open", "-o",
                                      help="Open the page in a web browser as well."),
    list_topics: bool = typer.Option(False, "--list", "-l", help="List the topics and exit."),
) -> None:
    """Print the URL of the documentation page for a topic.

    Example: `spec-kitty docs login --open`
    """
    from specify_cli import docs_links
    from specify_cli.errors import UsageError

    if list_topics:
        width = max(map(len, docs_links.TOPICS))
        for name in docs_links.TOPICS:
            typer.echo(f"{name:<{width}}  {docs_links.url(name)}")
        return
    name = topic or "home"
    if name not in docs_links.TOPICS:
        raise UsageError(f"unknown docs topic {topic!r}; run `spec-kitty docs --list`")
    link = docs_links.url(name)
    typer.echo(link)
    if open_browser:
        import webbrowser

        webbrowser.open(link)
