"""`newsletter dkim dns`: the TXT records to publish for the configured DKIM keys."""

import typer

from service.core.config import get_settings
from service.mail.dkim import keys_for

app = typer.Typer(help="DKIM signing keys.", no_args_is_help=True)


@app.command()
def dns() -> None:
    """Print each configured key's DNS TXT record (name, then value), for the domain's zone."""
    keys = keys_for(get_settings())
    if not keys:
        typer.echo("DKIM is not configured (set DKIM_PRIVATE_KEY, DKIM_SELECTOR and DKIM_DOMAIN)", err=True)
        raise typer.Exit(1)
    for key in keys:
        name, value = key.dns_record()  # zone-file form: a TXT string holds at most 255 characters
        chunks = " ".join(f'"{value[i : i + 250]}"' for i in range(0, len(value), 250))
        typer.echo(f"{name}. IN TXT ( {chunks} )")


@app.command()
def show() -> None:
    """Which keys sign, with what algorithm, selector and domain (never the key itself)."""
    for key in keys_for(get_settings()):
        typer.echo(f"{key.algorithm} d={key.domain} s={key.selector}")
