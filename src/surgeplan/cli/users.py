"""``surgeplan users add | list | revoke``: service accounts and their bearer tokens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

users_app = typer.Typer(help="Service accounts (tokens are stored hashed).", no_args_is_help=True)
DbOption = Annotated[Path, typer.Option("--db", help="The store.")]


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Account name.")],
    role: Annotated[str, typer.Option("--role", help="read | plan | admin")] = "read",
    db: DbOption = Path("surgeplan.duckdb"),
) -> None:
    """Add an account (or re-key it); the token is printed alone on the last line, once."""
    from surgeplan.store import Store
    from surgeplan.store.users import add_user

    with Store(db) as store:
        token = add_user(store, name, role)
    typer.echo(f"user {name!r} ({role}) added to {db}; its token (shown once, stored hashed):", err=True)
    typer.echo(token)


@users_app.command("list")
def list_(
    db: DbOption = Path("surgeplan.duckdb"),
    json_out: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
) -> None:
    """Accounts with their role and dates (never a token)."""
    from surgeplan.store import Store
    from surgeplan.store.users import list_users

    with Store(db) as store:
        frame = list_users(store)
    for row in frame.itertuples(index=False):
        revoked = (
            "" if row.revoked_at is None or str(row.revoked_at) == "NaT" else f" revoked {row.revoked_at}"
        )
        if json_out:
            typer.echo(
                json.dumps(
                    {
                        "name": row.name,
                        "role": row.role,
                        "created_at": str(row.created_at),
                        "revoked_at": None if not revoked else str(row.revoked_at),
                    }
                )
            )
        else:
            typer.echo(f"{row.name}\t{row.role}\tcreated {row.created_at}{revoked}")


@users_app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="Account name.")], db: DbOption = Path("surgeplan.duckdb")
) -> None:
    """Revoke an account's token (its dashboard sessions end too)."""
    from surgeplan.store import Store
    from surgeplan.store.users import revoke_user

    with Store(db) as store:
        revoke_user(store, name)
    typer.echo(f"user {name!r} revoked")


def register(app: typer.Typer) -> None:
    """Add the ``users`` group to the main app."""
    app.add_typer(users_app, name="users")
